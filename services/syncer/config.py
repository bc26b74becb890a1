from __future__ import annotations

import dataclasses

from common.config import StoreSettings, setting


@dataclasses.dataclass(frozen=True)
class SyncerSettings(StoreSettings):
    grpc_port: int = setting("GRPC_PORT", 50053, "gRPC port")
    metrics_port: int = setting("METRICS_PORT", 9103, "HTTP port of /metrics, /healthz and /backlog")
    messenger_addr: str = setting("MESSENGER_ADDR", "127.0.0.1:50051", "messenger gRPC address")
    counter_addr: str = setting("COUNTER_ADDR", "127.0.0.1:50052", "counter gRPC address")
    delivery_timeout_ms: int = setting("DELIVERY_TIMEOUT_MS", 3000,
                                       "a live delivery no gateway confirmed within this counts as unread")
    outbox_replay_after_ms: int = setting("OUTBOX_REPLAY_AFTER_MS", 2000,
                                          "counter events still in the outbox after this are applied again")
    sweep_interval_s: float = setting("SWEEP_INTERVAL_S", 1.0, "how often the delivery and outbox sweepers run")
