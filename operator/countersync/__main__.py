"""``python -m countersync``: run the CounterSync operator.

Configuration comes from COUNTERSYNC_* environment variables (see countersync.config); the
command line can override where to watch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys

import kopf

from countersync import wiring
from countersync.config import Config


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "msg": record.getMessage()}
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m countersync", description=__doc__)
    parser.add_argument("-n", "--namespace", action="append", default=[],
                        help="watch this namespace (repeatable); default: COUNTERSYNC_NAMESPACES")
    parser.add_argument("-A", "--all-namespaces", action="store_true",
                        help="watch every namespace (needs the cluster-wide RBAC)")
    parser.add_argument("--liveness", default=None,
                        help="liveness endpoint, e.g. http://0.0.0.0:8080/healthz (default: COUNTERSYNC_LIVENESS)")
    args = parser.parse_args(argv)

    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("LOG_FORMAT", "json").lower() == "json":
        handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), handlers=[handler], force=True)

    config = Config.from_env()
    if args.namespace:
        config = dataclasses.replace(config, namespaces=tuple(args.namespace))
    if args.all_namespaces:
        config = dataclasses.replace(config, all_namespaces=True)
    if args.liveness:
        config = dataclasses.replace(config, liveness_endpoint=args.liveness)
    if not config.all_namespaces and not config.namespaces:
        parser.error("say where to watch: --namespace NS (or COUNTERSYNC_NAMESPACES), or --all-namespaces")

    registry = wiring.register(kopf.OperatorRegistry(), config)
    kopf.run(
        registry=registry,
        memo=kopf.Memo(config=config),
        standalone=True,
        clusterwide=config.all_namespaces,
        namespaces=() if config.all_namespaces else config.namespaces,
        liveness_endpoint=config.liveness_endpoint,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
