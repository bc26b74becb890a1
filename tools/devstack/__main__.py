"""`make run`: the whole system on this machine, until Ctrl-C or SIGTERM.

Postgres and Redis are embedded (data under --data-dir) unless DATABASE_URL /
REDIS_URL point at real servers. Migrations are applied, then messenger,
counter, syncer and gateway start as separate processes talking gRPC.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from common import migrate
from devstack import stores
from devstack.processes import Ports, ServiceGroup, core_services

DATABASE = "unread"


def jwt_secret(data_dir: Path) -> str:
    """$JWT_SECRET, or one generated on the first run and kept, so tokens survive a restart."""
    if os.environ.get("JWT_SECRET"):
        return os.environ["JWT_SECRET"]
    path = data_dir / "jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def say(text: str) -> None:
    print(f"[devstack] {text}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR", ".data")))
    parser.add_argument("--free-ports", action="store_true",
                        help="pick free ports instead of 10000/50051-50053/9101-9103 (tests, a second copy)")
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)

    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))

    say("starting Postgres" + (" ($DATABASE_URL)" if os.environ.get("DATABASE_URL") else f" (embedded, {data_dir}/postgres)"))
    with stores.postgres(data_dir / "postgres") as server_url:
        database_url = server_url if os.environ.get("DATABASE_URL") else stores.create_database(server_url, DATABASE)
        say("starting Redis" + (" ($REDIS_URL)" if os.environ.get("REDIS_URL") else " (embedded Valkey)"))
        with stores.redis(data_dir / "redis") as redis_url:
            applied = migrate.apply(database_url)
            say(f"migrations: {len(applied)} applied" if applied else "migrations: up to date")
            env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                   "JWT_SECRET": jwt_secret(data_dir), "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text")}
            return run_services(env, Ports.free() if args.free_ports else Ports(), stopping)


def run_services(env: dict[str, str], ports: Ports, stopping: list) -> int:
    group = ServiceGroup(env)
    try:
        group.start(core_services(ports))
        say("ready:")
        say(f"  gateway    http://localhost:{ports.gateway}   metrics http://localhost:{ports.gateway}/metrics   "
            f"(REST, ws://localhost:{ports.gateway}/messenger/ws, /openapi.json)")
        say(f"  messenger  grpc://localhost:{ports.messenger}   metrics http://localhost:{ports.messenger_http}/metrics")
        say(f"  counter    grpc://localhost:{ports.counter}   metrics http://localhost:{ports.counter_http}/metrics")
        say(f"  syncer     grpc://localhost:{ports.syncer}   metrics http://localhost:{ports.syncer_http}/metrics")
        say(f"  postgres   {env['DATABASE_URL']}")
        say(f"  redis      {env['REDIS_URL']}")
        say("Ctrl-C stops everything.")
        while not stopping:
            crashed = group.first_exited()
            if crashed:
                say(f"{crashed.name} exited with code {crashed.exited()}; stopping the rest")
                return 1
            time.sleep(0.2)
        say("stopping")
        return 0
    except (RuntimeError, TimeoutError) as exc:
        say(f"could not start: {exc}")
        return 1
    finally:
        group.stop()


if __name__ == "__main__":
    sys.exit(main())
