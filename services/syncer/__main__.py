"""python -m syncer                 serve (gRPC + sweepers)
python -m syncer reconcile ...    one reconciliation run (what CounterSync Jobs execute)
python -m syncer backlog ...      dirty pairs per shard, as JSON"""

import argparse
import asyncio
import json
import os
import sys

from common import logs, runtime
from common.config import load
from common.stores import connect_postgres, connect_redis
from counter.store import CounterStore
from syncer.config import SyncerSettings
from syncer.reconcile import EXIT_FAILED, Reconciler, backlog, report


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m syncer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the syncer service (the default)")
    run = commands.add_parser("reconcile", help="compare counters with the truth and optionally repair them")
    run.add_argument("--mode", choices=["verify", "repair"], default="verify")
    run.add_argument("--shard", type=int, default=None,
                     help="this run's shard (default: $JOB_COMPLETION_INDEX, else 0)")
    run.add_argument("--shards", type=int, default=1, help="how many shards split the users")
    run.add_argument("--full", action="store_true", help="check every pair, not only those touched since the last run")
    run.add_argument("--max-repairs", type=int, default=None, help="repair at most this many counters")
    dirty = commands.add_parser("backlog", help="how many pairs each shard's next incremental run would check")
    dirty.add_argument("--shards", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "reconcile":
        if args.shard is None:
            args.shard = int(os.environ.get("JOB_COMPLETION_INDEX", "0"))
        if args.shards < 1 or not 0 <= args.shard < args.shards:
            parser.error(f"--shard must be in 0..{args.shards - 1}")
    if args.command == "backlog" and args.shards < 1:
        parser.error("--shards must be at least 1")
    return args


async def reconcile(settings: SyncerSettings, args: argparse.Namespace) -> int:
    pool = await connect_postgres(settings.database_url, 2)
    redis = connect_redis(settings.redis_url)
    try:
        reconciler = Reconciler(pool, CounterStore(pool, redis), args.shard, args.shards)
        summary = await reconciler.run(args.mode == "repair", args.full, args.max_repairs)
        print(report(summary))
        return summary.exit_code
    finally:
        await redis.aclose()
        await pool.close()


async def print_backlog(settings: SyncerSettings, shards: int) -> int:
    pool = await connect_postgres(settings.database_url, 1)
    try:
        print(json.dumps(await backlog(pool, shards)))
        return 0
    finally:
        await pool.close()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    settings = load(SyncerSettings)
    logs.setup("syncer", settings.log_level, settings.log_format)
    if args.command in (None, "serve"):
        from syncer.service import serve
        runtime.run(lambda stop: serve(settings, stop))
        return 0
    try:
        if args.command == "reconcile":
            return asyncio.run(reconcile(settings, args))
        return asyncio.run(print_backlog(settings, args.shards))
    except Exception as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        if args.command == "reconcile":
            print(json.dumps({"error": str(exc), "shard": args.shard, "shards": args.shards, "mode": args.mode}))
        return EXIT_FAILED


sys.exit(main(sys.argv[1:]))
