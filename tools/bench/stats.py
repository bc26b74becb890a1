"""Latency samples -> percentiles; one result row per measured case."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank method; NaN when there are no samples."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Row:
    """One measured case: a throughput (per second, of `unit`) and latencies in ms."""

    scenario: str
    case: str
    rate: float | None = None
    unit: str = ""
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    samples: int = 0
    extra: dict = field(default_factory=dict)
    note: str = ""

    @classmethod
    def of(cls, scenario: str, case: str, latencies_ms: list[float], rate: float | None = None, unit: str = "",
           note: str = "", **extra) -> "Row":
        values = sorted(latencies_ms)
        return cls(scenario, case, rate, unit, _r(percentile(values, 50)), _r(percentile(values, 95)),
                   _r(percentile(values, 99)), len(values), extra, note)

    @property
    def key(self) -> str:
        return f"{self.scenario}.{self.case}"

    def as_json(self) -> dict:
        out = {"rate": _r(self.rate), "unit": self.unit, "p50_ms": self.p50, "p95_ms": self.p95, "p99_ms": self.p99,
               "samples": self.samples}
        out.update({k: _r(v) if isinstance(v, float) else v for k, v in self.extra.items()})
        if self.note:
            out["note"] = self.note
        return out


def _r(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, 3) if abs(value) < 100 else round(value, 1)
