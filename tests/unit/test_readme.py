"""The README's configuration table names every setting the services read."""

from pathlib import Path

import pytest

from common.config import describe
from counter.config import CounterSettings
from gateway.config import GatewaySettings
from messenger.config import MessengerSettings
from syncer.config import SyncerSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("settings", [GatewaySettings, MessengerSettings, CounterSettings, SyncerSettings])
def test_every_setting_is_in_the_readme(settings):
    missing = [env for env, _, _ in describe(settings) if f"`{env}`" not in README]
    assert not missing, f"README's configuration table lacks {missing}"
