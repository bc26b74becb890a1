"""Applies the versioned SQL in migrations/ with yoyo (`python -m common.migrate`).

yoyo records applied versions in its own tables, so a second run is a no-op and
an older database rolls forward. It takes a lock, so two Jobs racing are safe.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from yoyo import get_backend, read_migrations

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "migrations"


def yoyo_url(database_url: str) -> str:
    scheme, sep, rest = database_url.partition("://")
    if scheme in {"postgres", "postgresql"}:
        return f"postgresql+psycopg://{rest}"
    return database_url


def apply(database_url: str, directory: Path = DEFAULT_DIR) -> list[str]:
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(str(directory))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [m.id for m in pending]


def main() -> None:
    parser = argparse.ArgumentParser(description="Apply database migrations.")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("MIGRATIONS_DIR", DEFAULT_DIR)))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url")
    applied = apply(args.database_url, args.dir)
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}", file=sys.stderr)


if __name__ == "__main__":
    main()
