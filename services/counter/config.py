from __future__ import annotations

import dataclasses

from common.config import StoreSettings, setting


@dataclasses.dataclass(frozen=True)
class CounterSettings(StoreSettings):
    grpc_port: int = setting("GRPC_PORT", 50052, "gRPC port")
    metrics_port: int = setting("METRICS_PORT", 9102, "HTTP port of /metrics and /healthz")
    messenger_addr: str = setting("MESSENGER_ADDR", "127.0.0.1:50051", "messenger gRPC address (truth for rebuilds)")
    cache_ttl_s: int = setting("COUNTER_CACHE_TTL_S", 86400, "how long an idle user's counters stay in Redis")
