from __future__ import annotations

import dataclasses

from common.config import StoreSettings, setting


@dataclasses.dataclass(frozen=True)
class MessengerSettings(StoreSettings):
    grpc_port: int = setting("GRPC_PORT", 50051, "gRPC port")
    metrics_port: int = setting("METRICS_PORT", 9101, "HTTP port of /metrics and /healthz")
