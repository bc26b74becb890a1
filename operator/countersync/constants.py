"""Names shared by the CRD, the chart and the operator. Change them together or not at all."""

GROUP = "unread.example.com"
VERSION = "v1alpha1"
PLURAL = "countersyncs"
KIND = "CounterSync"
API_VERSION = f"{GROUP}/{VERSION}"

# Labels on every Job the operator creates; the job index selects on MANAGED_BY.
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "countersync-operator"
LABEL_COUNTERSYNC = f"{GROUP}/countersync"
LABEL_TRIGGER = f"{GROUP}/trigger"

# Annotations on Jobs: what the operator needs to remember about a run without a database.
ANN_SCHEDULED_AT = f"{GROUP}/scheduled-at"
ANN_CREATED_AT = f"{GROUP}/created-at"
ANN_PARALLELISM_REASON = f"{GROUP}/parallelism-reason"
ANN_MANUAL_TOKEN = f"{GROUP}/run-now-token"

# Annotation on a CounterSync: set it (to any new value) to request one run now.
ANN_RUN_NOW = f"{GROUP}/run-now"

# The container name the pod failure policy and the result parser both refer to.
CONTAINER = "reconcile"

# Labels and annotations the Job controller puts on pods of Indexed Jobs.
POD_JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
POD_INDEX_KEY = "batch.kubernetes.io/job-completion-index"

# The reconcile CLI's exit code for "drift found and not (all) repaired".
EXIT_DRIFT = 3

# Condition types and reasons written into .status.conditions.
COND_READY = "Ready"
COND_RUNNING = "Running"
COND_SUSPENDED = "Suspended"
COND_DEGRADED = "Degraded"
COND_BACKLOG = "BacklogMeasured"

REASON_INVALID_SCHEDULE = "InvalidSchedule"
REASON_INVALID_SPEC = "InvalidSpec"
REASON_JOB_FAILED = "JobFailed"
REASON_PARTIAL_FAILURE = "PartialFailure"
REASON_STUCK_JOB = "StuckJob"
REASON_BACKLOG_UNAVAILABLE = "BacklogUnavailable"

# Run results in .status.lastRun.result.
RESULT_SUCCEEDED = "Succeeded"
RESULT_DRIFT_FOUND = "DriftFound"
RESULT_PARTIAL_FAILURE = "PartialFailure"
RESULT_FAILED = "Failed"
RESULT_STUCK = "Stuck"

# Job name limits: a pod hostname of an Indexed Job is "<job>-<index>" and must fit a DNS label (63).
MAX_COUNTERSYNC_NAME = 44
