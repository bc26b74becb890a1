"""The scenarios. Each one makes its own scratch database, starts the services if it
needs them, measures through the public API with client processes, and stops
everything it started, whatever happens."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from bench import seed, workers
from bench.env import Servers, fd_limit, open_fds, rss_kib, say, system
from bench.stats import Row


@dataclass(frozen=True)
class Profile:
    """How big and how long: `quick` fits in two minutes, `full` is the real measurement."""

    name: str
    warmup_s: float
    measure_s: float
    concurrencies: tuple[int, ...] = (1, 16, 64)
    client_procs: int = 2
    fanin_recipients: int = 20
    fanin_senders_per_recipient: int = 10
    fanin_loops: int = 32
    unread_readers: int = 50
    unread_rate: int = 500
    burst: int = 20
    burst_rounds: int = 3
    history_chats: int = 1
    history_messages: int = 10_000
    sockets: int = 2_000
    reconcile_pairs: int = 100_000
    incremental_fractions: tuple[float, ...] = (0.001, 0.01)


QUICK = Profile("quick", warmup_s=0.5, measure_s=2.0)
FULL = Profile("full", warmup_s=2.0, measure_s=10.0, fanin_recipients=60, fanin_senders_per_recipient=20,
               unread_readers=200, burst_rounds=10, history_chats=2, sockets=10_000, reconcile_pairs=1_000_000,
               incremental_fractions=(0.001, 0.01, 0.05))


@dataclass
class Run:
    servers: Servers
    profile: Profile
    log_dir: Path
    rows: list[Row] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        say(f"  {row.key}: " + (f"{row.rate:,.0f} {row.unit}" if row.rate is not None else "")
            + (f"  p50 {row.p50} p95 {row.p95} p99 {row.p99} ms" if row.p50 is not None else "")
            + (f"  {row.extra}" if row.extra else ""))
        return row

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)


def _split(items: list, parts: int) -> list[list]:
    parts = max(1, min(parts, len(items)))
    return [items[i::parts] for i in range(parts)]


def _gather(results: list[dict], key: str) -> list[float]:
    return [v for r in results for v in r[key]]


def _errors(results: list[dict]) -> dict:
    """Error frames that answered sends, by message, over all workers (shown, never hidden)."""
    merged: dict[str, int] = {}
    for r in results:
        for why, n in r.get("errors", {}).items():
            merged[why] = merged.get(why, 0) + n
    if merged:
        say(f"  error frames: {merged}")
        return {"error_frames": sum(merged.values())}
    return {}


async def _in_workers(jobs, syncs: int = 1, between=None, timeout_s: float = 600) -> list[dict]:
    return await asyncio.to_thread(workers.run_workers, jobs, syncs, between, timeout_s)


# ---------------------------------------------------------------- raw baselines


async def baseline(run: Run) -> None:
    """Single-row INSERT commits/s (asyncpg) and INCR ops/s (redis-py) at each concurrency."""
    p = run.profile
    async with run.servers.scratch("baseline") as scratch:
        conn = await asyncpg.connect(scratch.database_url)
        try:
            await conn.execute("CREATE TABLE bench_raw (id bigserial PRIMARY KEY, payload text NOT NULL, "
                               "created_at timestamptz NOT NULL DEFAULT now())")
        finally:
            await conn.close()
        for c in p.concurrencies:
            procs = 1 if c == 1 else p.client_procs
            jobs = [(workers.pg_insert_job, {"database_url": scratch.database_url, "concurrency": len(part),
                                             "warmup_s": p.warmup_s, "measure_s": p.measure_s})
                    for part in _split(list(range(c)), procs)]
            results = await _in_workers(jobs)
            done = sum(r["done"] for r in results)
            run.add(Row.of("baseline", f"pg_insert_c{c}", _gather(results, "latency_ms"), done / p.measure_s,
                           "commits/s"))
        for c in p.concurrencies:
            procs = 1 if c == 1 else p.client_procs
            jobs = [(workers.redis_incr_job, {"redis_url": run.servers.redis_url, "concurrency": len(part), "worker": i,
                                              "warmup_s": p.warmup_s, "measure_s": p.measure_s})
                    for i, part in enumerate(_split(list(range(c)), procs))]
            results = await _in_workers(jobs)
            done = sum(r["done"] for r in results)
            run.add(Row.of("baseline", f"redis_incr_c{c}", _gather(results, "latency_ms"), done / p.measure_s, "ops/s"))


# ---------------------------------------------------------------- send


async def send(run: Run) -> None:
    """C senders, one chat each, one message per frame, closed loop; companions offline or online."""
    p = run.profile
    async with run.servers.scratch("send") as scratch:
        with system(scratch, run.log_dir / "send") as sut:
            most = max(p.concurrencies)
            accounts = await seed.accounts(scratch.database_url, sut.jwt_secret, 2 * most, "send")
            senders, companions = accounts[:most], accounts[most:]
            chat_ids = await seed.chats(sut.url, list(zip(senders, companions)))
            pairs = [{"sender": s.token, "companion": c.token, "chat_id": chat}
                     for s, c, chat in zip(senders, companions, chat_ids)]
            for c in p.concurrencies:
                for online in (False, True):
                    procs = 1 if c == 1 else p.client_procs
                    jobs = [(workers.send_job, {"base_url": sut.url, "pairs": part, "online": online,
                                                "warmup_s": p.warmup_s, "measure_s": p.measure_s,
                                                "max_per_sender": 1_000_000})
                            for part in _split(pairs[:c], procs)]
                    results = await _in_workers(jobs)
                    sut.check_alive()
                    acked = sum(r["acked_in_window"] for r in results)
                    window = max(r["window_s"] for r in results)
                    mode = "online" if online else "offline"
                    extra = _errors(results)
                    if online:
                        extra.update(live_received=sum(r["received"] for r in results),
                                     sent=sum(r["sent"] for r in results))
                    run.add(Row.of("send", f"c{c}_{mode}", _gather(results, "ack_ms"), acked / window, "msgs/s",
                                   note="send -> send-message-ack", **extra))
                    if online:
                        run.add(Row.of("send", f"c{c}_live", _gather(results, "live_ms"),
                                       sum(r["received_in_window"] for r in results) / window, "msgs/s",
                                       note="send -> companion's receipt"))


# ---------------------------------------------------------------- fan-in


async def fanin(run: Run) -> None:
    """Many senders in many chats converge on a set of recipients, half of them online; every
    counter is then checked against the truth in Postgres."""
    p = run.profile
    r_count, s_per = p.fanin_recipients, p.fanin_senders_per_recipient
    async with run.servers.scratch("fanin") as scratch:
        with system(scratch, run.log_dir / "fanin") as sut:
            recipients = await seed.accounts(scratch.database_url, sut.jwt_secret, r_count, "fanin-r")
            senders = await seed.accounts(scratch.database_url, sut.jwt_secret, r_count * s_per // 2, "fanin-s")
            # Each sender talks to two recipients; each recipient hears from s_per senders.
            chat_pairs = [(senders[(r * s_per + k) % len(senders)], recipients[r]) for r in range(r_count)
                          for k in range(s_per)]
            chat_ids = await seed.chats(sut.url, chat_pairs)
            chats_of: dict[str, list[str]] = {}
            for (s, _), chat in zip(chat_pairs, chat_ids):
                chats_of.setdefault(s.token, []).append(chat)
            online = recipients[::2]
            sender_parts = _split([{"token": s.token, "chats": chats_of[s.token]} for s in senders], p.client_procs)
            online_parts = _split([{"token": o.token} for o in online], p.client_procs)
            jobs = [(workers.fanin_job, {"base_url": sut.url, "senders": sp, "online": op,
                                         "loops": max(1, p.fanin_loops // len(sender_parts)),
                                         "warmup_s": p.warmup_s, "measure_s": p.measure_s, "seed": i})
                    for i, (sp, op) in enumerate(zip(sender_parts, online_parts))]
            results = await _in_workers(jobs)
            sut.check_alive()
            window = max(r["window_s"] for r in results)
            run.add(Row.of("fanin", "send", _gather(results, "ack_ms"),
                           sum(r["acked_in_window"] for r in results) / window, "msgs/s",
                           note=f"{len(chat_ids)} chats, {len(senders) + r_count} users, {len(online)}/{r_count} "
                                f"recipients online, {p.fanin_loops} in flight",
                           sent=sum(r["sent"] for r in results), **_errors(results)))
            run.add(Row.of("fanin", "live", _gather(results, "live_ms"),
                           sum(r["received_in_window"] for r in results) / window, "msgs/s",
                           note="send -> online recipient's receipt"))
            mismatches, checked, settle_s = await _check_counters(sut.url, scratch.database_url,
                                                                  {a.id: a.token for a in recipients})
            run.facts["fanin_counters"] = {"checked": checked, "mismatches": mismatches, "settled_in_s": settle_s}
            say(f"  fan-in counters: {checked} checked against the truth, {mismatches} wrong "
                f"(settled in {settle_s:.1f}s)")


async def _check_counters(base_url: str, database_url: str, tokens: dict[str, str]) -> tuple[int, int, float]:
    """Waits for traffic to settle (no pending deliveries, empty outbox), then compares every
    counter the API shows with the unread messages the messenger's tables hold."""
    started = time.monotonic()
    conn = await asyncpg.connect(database_url)
    try:
        while time.monotonic() - started < 20:
            busy = await conn.fetchval("SELECT (SELECT count(*) FROM inbox WHERE pending) + "
                                       "(SELECT count(*) FROM counter_outbox)")
            if busy == 0:
                break
            await asyncio.sleep(0.2)
        settled = time.monotonic() - started
        rows = await conn.fetch(
            "SELECT m.user_id, m.chat_id, (SELECT count(*) FROM inbox i WHERE i.user_id = m.user_id "
            "AND i.chat_id = m.chat_id AND NOT i.pending) AS unread FROM chat_members m "
            "WHERE m.user_id = ANY($1::uuid[])", list(tokens))
    finally:
        await conn.close()
    truth = {(str(r["user_id"]), str(r["chat_id"])): r["unread"] for r in rows}
    import aiohttp

    mismatches = 0
    async with aiohttp.ClientSession() as http:
        for user_id, token in tokens.items():
            async with http.get(f"{base_url}/counter/unread", headers={"Authorization": token}) as response:
                shown = {c["chat_id"]: c["unread"] for c in (await response.json())["chats"]}
            for (u, chat), unread in truth.items():
                if u == user_id and shown.get(chat, 0) != unread:
                    mismatches += 1
    return mismatches, len(truth), settled


# ---------------------------------------------------------------- unread


async def unread(run: Run) -> None:
    """GET /counter/unread at a fixed rate, idle and beside senders; then how soon after a
    burst's last ack the count is right."""
    p = run.profile
    async with run.servers.scratch("unread") as scratch:
        with system(scratch, run.log_dir / "unread") as sut:
            senders = await seed.accounts(scratch.database_url, sut.jwt_secret, 16, "unread-s")
            readers = await seed.accounts(scratch.database_url, sut.jwt_secret, p.unread_readers, "unread-r")
            chat_pairs = [(senders[(r + k) % 16], readers[r]) for r in range(len(readers)) for k in range(5)]
            chat_ids = await seed.chats(sut.url, chat_pairs)
            # A message in every chat, so every reader has counters to read.
            by_sender: dict[int, list[str]] = {}
            for (s, _), chat in zip(chat_pairs, chat_ids):
                by_sender.setdefault(senders.index(s), []).append(chat)
            await asyncio.gather(*(seed.send_each(sut.url, senders[i], chats) for i, chats in by_sender.items()))
            total_paths = [[r.token, "/counter/unread"] for r in readers]
            chat_paths = [[r.token, f"/counter/unread?chat_id={chat}"] for (_, r), chat in zip(chat_pairs, chat_ids)]
            rate_each = p.unread_rate / p.client_procs

            def reads(paths, seed_no):
                return [(workers.open_loop_job, {"base_url": sut.url, "requests": paths, "rate": rate_each,
                                                 "duration_s": p.measure_s, "seed": seed_no + i})
                        for i in range(p.client_procs)]

            for case, paths in (("total", total_paths), ("by_chat", chat_paths)):
                results = await _in_workers(reads(paths, 10))
                _unread_row(run, f"{case}_{p.unread_rate}rps", results)
            # The same reads while 16 senders write to these readers (their counters change under them).
            load = [{"sender": senders[i].token, "companion": "", "chat_id": by_sender[i][0]} for i in range(16)]
            send_jobs = [(workers.send_job, {"base_url": sut.url, "pairs": part, "online": False, "warmup_s": 0,
                                             "measure_s": p.measure_s, "max_per_sender": 1_000_000})
                         for part in _split(load, p.client_procs)]
            results = await _in_workers(reads(total_paths, 20) + send_jobs)
            _unread_row(run, f"total_{p.unread_rate}rps_with_c16_senders", results[:p.client_procs],
                        senders_msgs_per_s=round(sum(r["acked_in_window"] for r in results[p.client_procs:])
                                                 / p.measure_s))
            sut.check_alive()
            # Right after a burst: 16 senders, 16 distinct readers.
            # Reader r's first chat is with sender r % 16: 16 distinct senders and readers.
            await asyncio.sleep(0.5)
            pairs = [{"sender": s.token, "chat_id": chat, "reader": r.token}
                     for (s, r), chat in list(zip(chat_pairs, chat_ids))[:5 * 16:5]]
            jobs = [(workers.burst_job, {"base_url": sut.url, "pairs": part, "burst": p.burst, "rounds": p.burst_rounds})
                    for part in _split(pairs, p.client_procs)]
            results = await _in_workers(jobs)
            run.add(Row.of("unread", "right_after_burst", _gather(results, "lag_ms"),
                           note=f"last ack -> first right GET /counter/unread; {len(pairs)} bursts of {p.burst} at once",
                           wrong_after_5s=sum(r["wrong_after_5s"] for r in results),
                           first_poll_right=sum(1 for r in results for n in r["polls"] if n == 1)))


def _unread_row(run: Run, case: str, results: list[dict], **extra) -> None:
    statuses: dict = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[str(status)] = statuses.get(str(status), 0) + n
    elapsed = max(r["elapsed_s"] for r in results)
    service = sorted(_gather(results, "service_ms"))
    run.add(Row.of("unread", case, _gather(results, "latency_ms"), sum(r["sent"] for r in results) / elapsed, "req/s",
                   note="timed from the scheduled start (open loop)", statuses=statuses,
                   service_p99_ms=service[int(len(service) * 0.99) - 1] if service else None, **extra))


# ---------------------------------------------------------------- history


async def history(run: Run) -> None:
    """Pages of 50 from chats of 10,000 messages, near the start and deep, first visits
    (the page's messages become read) and re-reads."""
    p = run.profile
    async with run.servers.scratch("history") as scratch:
        with system(scratch, run.log_dir / "history") as sut:
            accounts = await seed.accounts(scratch.database_url, sut.jwt_secret, 2 * p.history_chats, "history")
            senders, readers = accounts[:p.history_chats], accounts[p.history_chats:]
            chat_ids = await seed.chats(sut.url, list(zip(senders, readers)))
            t0 = time.monotonic()
            await asyncio.gather(*(seed.fill_chat(sut.url, s, chat, p.history_messages)
                                   for s, chat in zip(senders, chat_ids)))
            say(f"  {p.history_chats} chat(s) of {p.history_messages} messages sent in {time.monotonic() - t0:.1f}s")
            quarter = p.history_messages // 4
            regions = {"start": range(0, quarter, 50), "deep": range(p.history_messages - quarter, p.history_messages, 50)}
            for region, offsets in regions.items():
                jobs = [(workers.closed_loop_job, {
                    "base_url": sut.url, "token": r.token, "loops": 1, "duration_s": 120, "in_order": True,
                    "expect_messages": 50, "seed": 1,
                    "paths": [f"/messenger/messages?chat_id={chat}&offset={o}&limit=50" for o in offsets]})
                    for r, chat in zip(readers, chat_ids)]
                results = await _in_workers(jobs)
                _history_row(run, f"{region}_first_visit", results, "the page's 50 messages become read")
            # Re-reads: one in flight (the latency of a page), then eight (what the system sustains).
            for region, offsets in regions.items():
                for in_flight in (1, 8):
                    chats_used = list(zip(readers, chat_ids))[:in_flight]
                    jobs = [(workers.closed_loop_job, {
                        "base_url": sut.url, "token": r.token, "loops": max(1, in_flight // len(chats_used)),
                        "duration_s": p.measure_s, "expect_messages": 50, "seed": 2 + k,
                        "paths": [f"/messenger/messages?chat_id={chat}&offset={o}&limit=50" for o in offsets]})
                        for k, (r, chat) in enumerate(chats_used)]
                    results = await _in_workers(jobs)
                    _history_row(run, region if in_flight == 1 else f"{region}_c{in_flight}", results,
                                 f"re-reads, {in_flight} in flight")
            sut.check_alive()


def _history_row(run: Run, case: str, results: list[dict], note: str) -> None:
    bad = sum(r["bad_count"] for r in results)
    if bad:
        raise RuntimeError(f"history answers were wrong: {results[0]['bad'] or results[-1]['bad']}")
    elapsed = max(r["elapsed_s"] for r in results)
    lat = _gather(results, "latency_ms")
    run.add(Row.of("history", case, lat, len(lat) / elapsed, "pages/s", note=note))


# ---------------------------------------------------------------- connections


async def connections(run: Run) -> None:
    """Idle authenticated WebSockets on one gateway process, and its memory per socket."""
    p = run.profile
    async with run.servers.scratch("connections") as scratch:
        with system(scratch, run.log_dir / "connections") as sut:
            accounts = await seed.accounts(scratch.database_url, sut.jwt_secret, p.sockets, "conn")
            gateway = sut.pid("gateway")
            limit = fd_limit(gateway)
            if limit < p.sockets + 200:
                say(f"  the gateway may open {limit} files: fewer than {p.sockets} sockets will fit")
            # Warm the process up (imports, first socket, pools), then take the baseline.
            warm = await _in_workers([(workers.connections_job, {"base_url": sut.url, "tokens": [a.token for a in accounts[:20]],
                                                                 "parallel": 20, "hold_s": 0})], syncs=3)
            await asyncio.sleep(0.5)
            memory: dict[str, int] = {"before_kib": rss_kib(gateway)}
            fds: dict[str, int] = {"before": open_fds(gateway)}

            def between(k: int) -> None:
                name = ("open", "held", "closed")[k]
                memory[f"{name}_kib"] = rss_kib(gateway)
                fds[name] = open_fds(gateway)
                if name == "held":
                    memory["gauge"] = _gauge(sut.url, "gateway_websockets_open")

            jobs = [(workers.connections_job, {"base_url": sut.url, "tokens": [a.token for a in part],
                                               "parallel": 200, "hold_s": 5.0})
                    for part in _split(accounts, p.client_procs)]
            results = await _in_workers(jobs, syncs=3, between=between)
            sut.check_alive()
            opened = sum(r["opened"] for r in results)
            held = sum(r["still_open"] for r in results)
            connect_s = max(r["connect_s"] for r in results)
            per_socket_kib = (memory["open_kib"] - memory["before_kib"]) / opened if opened else None
            held_per_socket = (memory["held_kib"] - memory["before_kib"]) / opened if opened else None
            run.add(Row.of("connections", "idle", _gather(results, "connect_ms"), opened / connect_s, "connects/s",
                           note="connect latency; memory is the gateway's RSS delta / sockets",
                           sockets=p.sockets, opened=opened, held=held, failed=sum(r["failed"] for r in results),
                           gateway_gauge=memory.get("gauge"), gateway_fd_limit=limit,
                           gateway_fds_open=fds.get("open"),
                           rss_before_mib=round(memory["before_kib"] / 1024, 1),
                           rss_open_mib=round(memory["open_kib"] / 1024, 1),
                           rss_after_close_mib=round(memory["closed_kib"] / 1024, 1),
                           kib_per_socket=round(per_socket_kib, 2) if per_socket_kib else None,
                           kib_per_socket_after_hold=round(held_per_socket, 2) if held_per_socket else None))
            closed = {}
            for r in results:
                for why, n in r["closed_why"].items():
                    closed[why] = closed.get(why, 0) + n
            if closed:
                say(f"  sockets closed while held: {closed}")
            failures = [f for r in results for f in r["failures"]]
            if failures:
                say(f"  connect failures, e.g. {failures[0]}")
            del warm


def _gauge(base_url: str, name: str) -> float | None:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


# ---------------------------------------------------------------- reconcile


async def reconcile(run: Run) -> None:
    """Full runs over the seeded pairs with 1 shard and 2 shards in parallel, then
    incremental runs after touching a fraction of the pairs."""
    p = run.profile
    async with run.servers.scratch("reconcile") as scratch:
        t0 = time.monotonic()
        world = await seed.reconcile_world(scratch.database_url, p.reconcile_pairs, 0.01)
        say(f"  seeded {world.pairs:,} pairs ({world.users:,} users, {world.chats:,} chats, "
            f"{world.inbox_rows:,} unread rows, {world.drifted:,} counters drifted) in {time.monotonic() - t0:.1f}s")
        env = {**os.environ, "DATABASE_URL": scratch.database_url, "REDIS_URL": run.servers.redis_url,
               "LOG_FORMAT": "text"}

        full1 = await _reconcile_runs(env, 1, True)
        run.add(_reconcile_row("full_1shard", full1, note=f"{world.drifted} drifted seeded"))
        drifted = await seed.inject_drift(scratch.database_url, 0.01, seed=11)
        full2 = await _reconcile_runs(env, 2, True)
        run.add(_reconcile_row("full_2shards", full2, note=f"{drifted} drifted injected"))
        incremental = []
        for k, fraction in enumerate(p.incremental_fractions):
            await seed.age_everything(scratch.database_url)
            touched = await seed.touch(scratch.database_url, fraction, seed=100 + k)
            summaries = await _reconcile_runs(env, 1, False)
            row = _reconcile_row(f"incremental_{fraction * 100:g}pct", summaries, note=f"{touched} pairs touched",
                                 touched=touched)
            incremental.append((touched, max(s["duration_s"] for s in summaries)))
            run.add(row)
        full_s = max(s["duration_s"] for s in full1)
        if len(incremental) >= 2:
            (n0, t0_), (n1, t1) = incremental[0], incremental[-1]
            slope_us = (t1 - t0_) / (n1 - n0) * 1e6 if n1 > n0 else None
            run.facts["incremental"] = {
                "touched": [n for n, _ in incremental], "duration_s": [t for _, t in incremental],
                "us_per_touched_pair": slope_us, "fixed_s": round(t0_ - (slope_us or 0) * n0 / 1e6, 3),
                "full_us_per_pair": round(full_s / world.pairs * 1e6, 2)}


async def _reconcile_runs(env: dict, shards: int, full: bool) -> list[dict]:
    """`shards` processes of `python -m syncer reconcile --mode repair` at once; their JSON summaries."""
    args = [sys.executable, "-m", "syncer", "reconcile", "--mode", "repair", "--shards", str(shards)]
    started = time.monotonic()
    procs = [await asyncio.create_subprocess_exec(*args, "--shard", str(i), *(["--full"] if full else []), env=env,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
             for i in range(shards)]
    try:
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 600)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    wall = time.monotonic() - started
    summaries = []
    for proc, (out, err) in zip(procs, outputs):
        lines = out.decode().strip().splitlines()
        if not lines:
            raise RuntimeError(f"reconcile printed nothing (exit {proc.returncode}): {err.decode()[-2000:]}")
        summary = json.loads(lines[-1])
        if "error" in summary:
            raise RuntimeError(f"reconcile failed: {summary['error']}")
        summary["wall_s"] = round(wall, 3)
        summaries.append(summary)
    return summaries


def _reconcile_row(case: str, summaries: list[dict], note: str = "", **extra) -> Row:
    checked = sum(s["checked"] for s in summaries)
    duration = max(s["duration_s"] for s in summaries)
    return Row("reconcile", case, checked / duration if duration else None, "pairs/s", extra={
        "checked": checked, "drifted": sum(s["drifted"] for s in summaries),
        "repaired": sum(s["repaired"] for s in summaries), "duration_s": duration,
        "wall_s": summaries[0]["wall_s"], "shards": len(summaries), **extra}, note=note)


SCENARIOS = {
    "baseline": baseline,
    "send": send,
    "fanin": fanin,
    "unread": unread,
    "history": history,
    "connections": connections,
    "reconcile": reconcile,
}
