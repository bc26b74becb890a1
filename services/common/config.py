"""Reading configuration from the environment: one dataclass per service, built here.

Each service declares its settings as a frozen dataclass whose fields carry their
environment variable name and default (`setting(...)`); `load(cls)` fills it in.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    pass


def setting(env: str, default: Any, help: str = "") -> Any:
    return dataclasses.field(default=default, metadata={"env": env, "help": help})


def _parse(raw: str, kind: type, env: str) -> Any:
    if kind is bool:
        flags = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
        if raw.lower() in flags:
            return flags[raw.lower()]
    else:
        try:
            return kind(raw)
        except ValueError:
            pass
    raise ConfigError(f"{env}={raw!r} is not a valid {kind.__name__}")


def load(cls: type[T], environ: dict[str, str] | None = None) -> T:
    environ = os.environ if environ is None else environ
    values = {}
    for field in dataclasses.fields(cls):
        env = field.metadata["env"]
        if env in environ:
            kind = type(field.default)
            values[field.name] = _parse(environ[env], kind, env)
    return cls(**values)


def describe(cls: type) -> list[tuple[str, Any, str]]:
    """(variable, default, meaning) for every setting: the README table comes from here."""
    return [(f.metadata["env"], f.default, f.metadata["help"]) for f in dataclasses.fields(cls)]


@dataclasses.dataclass(frozen=True)
class StoreSettings:
    """What every service needs to reach Postgres and Redis, and to log."""

    database_url: str = setting("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/unread", "Postgres DSN")
    redis_url: str = setting("REDIS_URL", "redis://127.0.0.1:6379/0", "Redis DSN")
    db_pool_size: int = setting("DB_POOL_SIZE", 10, "Postgres connections per process")
    log_level: str = setting("LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR")
    log_format: str = setting("LOG_FORMAT", "json", "json (one object per line) or text")
