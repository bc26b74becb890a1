"""CounterSync: a kopf operator that turns CounterSync resources into reconciliation Jobs.

The pure modules (schedule, sizing, jobspec, results, conditions, planning) hold the decisions;
the handlers under ``handlers/`` only wire them to Kubernetes.
"""

__version__ = "0.1.0"
