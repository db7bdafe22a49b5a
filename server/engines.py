"""Which database a deployment uses: ``--database-url`` / ``VISITSCORE_DATABASE_URL``.

Empty (the default) is the SQLite file in the data folder; ``sqlite:///path`` another
SQLite file; ``postgresql://user:password@host:port/name`` (or ``postgres://``) a
PostgreSQL 15+ database. Anything else stops start-up with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .db import Database, DatabaseUnavailable
from .db.postgres import PostgresDatabase


def open_database(url: str, data_dir: Path, read_connections: int = 3) -> Any:
    """A :class:`Database` (SQLite) or :class:`PostgresDatabase`, not yet connected."""
    url = url.strip()
    if not url:
        return Database(data_dir / "visitscore.db", read_connections=read_connections)
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite://")
        if not path.startswith("/") or path == "/":
            raise DatabaseUnavailable(
                f"database URL {url!r}: give sqlite:////absolute/path/visitscore.db"
            )
        return Database(Path(path), read_connections=read_connections)
    if scheme in {"postgresql", "postgres"}:
        return PostgresDatabase(url, connections=read_connections + 2)
    raise DatabaseUnavailable(
        f"database URL {_without_password(url)!r}: give postgresql://… or sqlite:///…"
        + (f", not {scheme}://" if scheme else "")
    )


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":…@", 1)
    return url
