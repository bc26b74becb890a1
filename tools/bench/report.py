"""The table for people, the ratios to the raw baselines, the targets, and the JSON line."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable

from bench.scenarios import Run
from bench.stats import Row


def ratios(run: Run) -> dict[str, float]:
    """Each send rate over the raw rates measured at the same concurrency in the same run."""
    out: dict[str, float] = {}
    for row in run.rows:
        if row.scenario != "send" or row.rate is None or row.case.endswith("_live"):
            continue
        c = row.case.split("_")[0].removeprefix("c")
        for base, name in (("pg_insert", "pg_commits"), ("redis_incr", "redis_incr")):
            raw = run.row(f"baseline.{base}_c{c}")
            if raw and raw.rate:
                out[f"send_{row.case}_msgs_per_s/{name}_c{c}_per_s"] = round(row.rate / raw.rate, 3)
    return out


def _rate(key: str) -> Callable[[Run], float | None]:
    return lambda run: run.row(key).rate if run.row(key) else None


def _lat(key: str, which: str) -> Callable[[Run], float | None]:
    return lambda run: getattr(run.row(key), which) if run.row(key) else None


def _extra(key: str, name: str) -> Callable[[Run], float | None]:
    return lambda run: run.row(key).extra.get(name) if run.row(key) else None


def _send_ratio(run: Run) -> float | None:
    send, raw = run.row("send.c16_offline"), run.row("baseline.pg_insert_c16")
    return send.rate / raw.rate if send and raw and raw.rate else None


def _bytes_per_socket(run: Run) -> float | None:
    kib = _extra("connections.idle", "kib_per_socket")(run)
    return kib * 1024 if kib is not None else None


def _full_2shards(run: Run) -> float | None:
    row = run.row("reconcile.full_2shards")
    if not row:
        return None
    # Only the million-pair run says anything about the target; smaller runs are scaled linearly.
    return row.extra["duration_s"] * 1_000_000 / row.extra["checked"]


def _incremental_share(run: Run) -> float | None:
    """The 1% incremental run's time as a share of the full 1-shard run's: ~0.01 when the cost is
    proportional to the pairs touched, ~1 when every pair is scanned."""
    inc, full = run.row("reconcile.incremental_1pct"), run.row("reconcile.full_1shard")
    if not inc or not full:
        return None
    return inc.extra["duration_s"] / full.extra["duration_s"]


# (what, how it is read, comparison, limit, unit)
TARGETS: list[tuple[str, Callable[[Run], float | None], str, float, str]] = [
    ("send C=16 offline, end to end", _rate("send.c16_offline"), ">=", 3000, "msgs/s"),
    ("send C=16 offline / raw single-row commits C=16", _send_ratio, ">=", 0.4, "x"),
    ("send->ack p99, C=16 offline", _lat("send.c16_offline", "p99"), "<", 25, "ms"),
    ("send->ack p99, C=16 online", _lat("send.c16_online", "p99"), "<", 25, "ms"),
    ("live delivery p99, C=16", _lat("send.c16_live", "p99"), "<", 30, "ms"),
    ("GET /counter/unread p99 at 500 req/s", _lat("unread.total_500rps", "p99"), "<", 5, "ms"),
    ("unread right after the last ack, p99", _lat("unread.right_after_burst", "p99"), "<", 50, "ms"),
    ("history page of 50, p50, near the start", _lat("history.start", "p50"), "<", 5, "ms"),
    ("history page of 50, p50, deep", _lat("history.deep", "p50"), "<", 5, "ms"),
    ("idle WebSockets held by one gateway", _extra("connections.idle", "held"), ">=", 10_000, "sockets"),
    ("gateway memory per idle WebSocket", _bytes_per_socket, "<", 50_000, "bytes"),
    ("reconcile full run, 1,000,000 pairs, 2 shards", _full_2shards, "<", 20, "s"),
    ("incremental (1% touched) time / full run time", _incremental_share, "<", 0.05, "x"),
]

_OPS = {">=": operator.ge, "<": operator.lt}


def targets(run: Run) -> list[dict]:
    out = []
    for what, read, op, limit, unit in TARGETS:
        value = read(run)
        met = None if value is None else bool(_OPS[op](value, limit))
        entry = {"target": what, "value": None if value is None else round(value, 3), "op": op, "limit": limit,
                 "unit": unit, "met": met}
        if what.startswith("reconcile full") and run.row("reconcile.full_2shards"):
            checked = run.row("reconcile.full_2shards").extra["checked"]
            if checked != 1_000_000:
                # A smaller run says little about a million pairs (the cost per pair grows with
                # the tables): shown scaled, judged only by the full profile.
                entry["scaled_from_pairs"] = checked
                entry["met"] = None
        if what.startswith("idle WebSockets") and value is not None and run.profile.sockets < 10_000:
            entry["met"] = None
            entry["note"] = f"this profile opens only {run.profile.sockets} sockets"
        out.append(entry)
    return out


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(run: Run) -> str:
    header = ("scenario", "case", "rate", "unit", "p50 ms", "p95 ms", "p99 ms", "n", "notes")
    lines = [header]
    for row in run.rows:
        notes = [row.note] if row.note else []
        notes += [f"{k}={_fmt(v)}" for k, v in row.extra.items() if k not in ("statuses",)]
        lines.append((row.scenario, row.case, _fmt(row.rate), row.unit, _fmt(row.p50), _fmt(row.p95), _fmt(row.p99),
                      _fmt(row.samples), "; ".join(notes)))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header) - 1)]
    out = []
    for k, line in enumerate(lines):
        cells = [str(c).rjust(w) if 2 <= i <= 7 else str(c).ljust(w) for i, (c, w) in enumerate(zip(line, widths))]
        out.append("  ".join(cells) + "  " + line[-1])
        if k == 0:
            out.append("-" * (sum(widths) + 2 * len(widths) + 5))
    return "\n".join(out)


def render(run: Run, meta: dict) -> tuple[str, str]:
    """(the human part, the one-line JSON object)."""
    rows_ratios = ratios(run)
    checks = targets(run)
    human = [table(run), ""]
    if rows_ratios:
        human.append("ratios to the raw baselines (same run, same Postgres and Redis):")
        human += [f"  {k} = {v}" for k, v in rows_ratios.items()]
        human.append("")
    if run.facts:
        human.append("checks:")
        human += [f"  {k}: {json.dumps(v)}" for k, v in run.facts.items()]
        human.append("")
    human.append("targets:")
    for t in checks:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        extra = f" (scaled from {t['scaled_from_pairs']:,} pairs)" if "scaled_from_pairs" in t else ""
        extra += f" ({t['note']})" if "note" in t else ""
        human.append(f"  [{verdict:>6}] {t['target']}: {_fmt(t['value'])} {t['unit']} ({t['op']} {_fmt(t['limit'])}){extra}")
    document = {**meta, "results": {r.key: r.as_json() for r in run.rows}, "ratios": rows_ratios,
                "checks": run.facts, "targets": checks}
    return "\n".join(human), json.dumps(document, separators=(",", ":"), default=str)
