from __future__ import annotations

import dataclasses

from common.config import ConfigError, StoreSettings, load, setting

# HS256 keys shorter than the hash output make brute-forcing a captured token cheaper.
RECOMMENDED_SECRET_BYTES = 32


@dataclasses.dataclass(frozen=True)
class GatewaySettings(StoreSettings):
    port: int = setting("GATEWAY_PORT", 10000, "HTTP and WebSocket port")
    jwt_secret: str = setting("JWT_SECRET", "", "HS256 key that signs access and refresh tokens (required)")
    access_token_ttl_s: int = setting("ACCESS_TOKEN_TTL_S", 900, "lifetime of an access token")
    refresh_token_ttl_s: int = setting("REFRESH_TOKEN_TTL_S", 2_592_000, "lifetime of a refresh token")
    messenger_addr: str = setting("MESSENGER_ADDR", "127.0.0.1:50051", "messenger gRPC address")
    counter_addr: str = setting("COUNTER_ADDR", "127.0.0.1:50052", "counter gRPC address")
    syncer_addr: str = setting("SYNCER_ADDR", "127.0.0.1:50053", "syncer gRPC address")
    upstream_timeout_s: float = setting("UPSTREAM_TIMEOUT_S", 10.0, "deadline of one gRPC call to another service")
    ws_max_frame_bytes: int = setting("WS_MAX_FRAME_BYTES", 65_536, "largest WebSocket frame accepted")
    ws_max_messages_per_frame: int = setting("WS_MAX_MESSAGES_PER_FRAME", 100, "messages one send-message frame may carry")
    message_max_chars: int = setting("MESSAGE_MAX_CHARS", 4096, "longest message text")
    page_max_limit: int = setting("PAGE_MAX_LIMIT", 100, "largest `limit` of a paged GET")


def load_settings(environ: dict[str, str] | None = None) -> GatewaySettings:
    """The settings, or ConfigError when the gateway could not run safely with them."""
    settings = load(GatewaySettings, environ)
    if not settings.jwt_secret:
        raise ConfigError("JWT_SECRET is empty: set it to a long random string, e.g. `openssl rand -hex 32`")
    return settings


def weak_secret(settings: GatewaySettings) -> bool:
    return len(settings.jwt_secret.encode()) < RECOMMENDED_SECRET_BYTES
