import dataclasses

import pytest

from common.config import ConfigError, StoreSettings, describe, load, setting


@dataclasses.dataclass(frozen=True)
class Example(StoreSettings):
    port: int = setting("PORT", 8080, "a port")
    ratio: float = setting("RATIO", 0.5, "a ratio")
    verbose: bool = setting("VERBOSE", False, "talk more")


def test_defaults_without_environment():
    settings = load(Example, {})
    assert (settings.port, settings.ratio, settings.verbose) == (8080, 0.5, False)
    assert settings.redis_url.startswith("redis://")


def test_values_are_parsed_by_type():
    settings = load(Example, {"PORT": "9", "RATIO": "0.25", "VERBOSE": "yes", "DATABASE_URL": "postgresql://x/y"})
    assert (settings.port, settings.ratio, settings.verbose, settings.database_url) == (9, 0.25, True, "postgresql://x/y")


@pytest.mark.parametrize("env", [{"PORT": "eighty"}, {"VERBOSE": "maybe"}])
def test_bad_values_name_the_variable(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        load(Example, env)


def test_every_setting_is_documented():
    assert all(help for _, _, help in describe(Example))
