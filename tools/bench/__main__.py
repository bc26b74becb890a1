"""python -m bench [--quick] [scenario ...]

Starts Postgres and Redis (embedded, or $DATABASE_URL / $REDIS_URL), then runs each
scenario on a scratch database of its own with the four services started as
processes the way `make run` starts them, and drives them through the public API
from client processes. Prints a table, the ratios to the raw baselines measured in
the same run, the targets met or missed, and one JSON object on the last line.

Scenarios: baseline send fanin unread history connections reconcile (default: all).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import report
from bench.env import Servers, machine, say
from bench.scenarios import FULL, QUICK, SCENARIOS, Run
from bench.workers import raise_fd_limit


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help=f"any of: {', '.join(SCENARIOS)}")
    parser.add_argument("--quick", action="store_true", help="small and short: the whole run in under two minutes")
    parser.add_argument("--measure-s", type=float, help="seconds each case is measured (after its warm-up)")
    parser.add_argument("--client-procs", type=int, help="load-generating processes per case (default 2)")
    parser.add_argument("--log-dir", type=Path, help="keep the services' logs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    return args


async def main(args: argparse.Namespace) -> int:
    profile = QUICK if args.quick else FULL
    if args.measure_s or args.client_procs:
        from dataclasses import replace
        profile = replace(profile, **({"measure_s": args.measure_s} if args.measure_s else {}),
                          **({"client_procs": args.client_procs} if args.client_procs else {}))
    names = args.scenarios or list(SCENARIOS)
    fds = raise_fd_limit()  # the services inherit it: the gateway needs one per socket
    started = time.monotonic()
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="bench-logs-"))
    keep_logs = args.log_dir is not None
    say(f"profile {profile.name}: {', '.join(names)}; service logs in {log_dir}"
        + ("" if keep_logs else " (removed at the end unless a scenario fails)"))
    failed: list[str] = []
    with Servers() as servers:
        run = Run(servers, profile, log_dir)
        meta = {"profile": profile.name, "machine": machine(), "stores": servers.describe(),
                "postgres_settings": await servers.pg_settings(), "fd_limit": fds}
        for name in names:
            say(f"{name} ...")
            t0 = time.monotonic()
            try:
                await SCENARIOS[name](run)
            except Exception:
                failed.append(name)
                say(f"{name} FAILED:\n{traceback.format_exc()}")
            say(f"{name} done in {time.monotonic() - t0:.1f}s")
    if failed:
        say(f"the services' logs are kept in {log_dir}")
    elif not keep_logs:
        shutil.rmtree(log_dir, ignore_errors=True)
    meta["scenarios"] = names
    meta["failed"] = failed
    meta["duration_s"] = round(time.monotonic() - started, 1)
    human, line = report.render(run, meta)
    print(human)
    print(f"(whole run {meta['duration_s']}s; the load generators share the machine's {meta['machine']['nproc']} "
          f"cores with the services, Postgres and Redis)")
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(parse_args(sys.argv[1:]))))
    except KeyboardInterrupt:
        sys.exit(130)
