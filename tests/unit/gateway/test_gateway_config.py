from __future__ import annotations

import pytest

from common.config import ConfigError
from gateway.config import load_settings, weak_secret


def test_the_gateway_refuses_to_start_without_a_jwt_secret() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings({})
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings({"JWT_SECRET": ""})


def test_defaults_match_the_contract() -> None:
    settings = load_settings({"JWT_SECRET": "x" * 32})
    assert settings.port == 10000
    assert (settings.access_token_ttl_s, settings.refresh_token_ttl_s) == (900, 2_592_000)
    assert (settings.messenger_addr, settings.counter_addr, settings.syncer_addr) == (
        "127.0.0.1:50051", "127.0.0.1:50052", "127.0.0.1:50053")
    assert (settings.ws_max_frame_bytes, settings.ws_max_messages_per_frame) == (65536, 100)
    assert (settings.message_max_chars, settings.page_max_limit) == (4096, 100)


def test_the_environment_overrides_defaults() -> None:
    settings = load_settings({"JWT_SECRET": "s", "GATEWAY_PORT": "8080", "PAGE_MAX_LIMIT": "50"})
    assert (settings.port, settings.page_max_limit) == (8080, 50)
    assert weak_secret(settings)
