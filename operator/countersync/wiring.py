"""Register the handlers into a kopf registry with the intervals from the configuration.

Registration is explicit (not at import) so the tick can come from configuration and tests can
run the real handlers in a registry of their own.
"""

from __future__ import annotations

import kopf

from countersync import constants
from countersync.config import Config
from countersync.handlers import countersync, deletion, jobs, lifecycle


def register(registry: kopf.OperatorRegistry, config: Config) -> kopf.OperatorRegistry:
    kopf.on.startup(registry=registry, id="configure")(lifecycle.configure)
    kopf.on.login(registry=registry, id="login")(lifecycle.login)
    kopf.on.cleanup(registry=registry, id="cleanup")(lifecycle.cleanup)
    kopf.index("batch", "v1", "jobs", registry=registry, id=jobs.INDEX_ID,
               labels={constants.LABEL_MANAGED_BY: constants.MANAGED_BY})(jobs.index_job)
    kopf.timer(constants.GROUP, constants.VERSION, constants.PLURAL, registry=registry, id="schedule",
               interval=config.tick_seconds, backoff=max(config.tick_seconds, 1.0))(countersync.tick)
    kopf.on.delete(constants.GROUP, constants.VERSION, constants.PLURAL, registry=registry, id="delete-jobs",
                   optional=True)(deletion.delete_jobs)
    return registry
