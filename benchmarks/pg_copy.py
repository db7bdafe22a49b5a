"""A grown SQLite data folder's rows into a PostgreSQL database made by the server's
migrations, with ``COPY``: minutes for a million visits where `visitscore move-data`
(row by row through the app's own layer, every count and photo checked) takes much
longer. For benchmarks only: foreign keys and triggers are off during the copy
(``session_replication_role``), so the rows must already be consistent, as they are in
a folder the server wrote."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from server.db.postgres import PostgresDatabase

CHUNK = 20_000


def migrate(url: str) -> None:
    async def schema() -> None:
        async with PostgresDatabase(url) as db:
            await db.migrate()

    asyncio.run(schema())


def copy_tables(source: Path, url: str, tables: tuple[str, ...] | None = None) -> None:
    """``tables`` (default: every table but the migrations' record) from the SQLite file
    into ``url``, whose schema the migrations made; identity counters moved past the
    copied ids; then VACUUM ANALYZE."""
    import psycopg

    migrate(url)
    lite = sqlite3.connect(source)
    try:
        names = tables or tuple(
            r[0]
            for r in lite.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name"
            )
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            for table in names:
                wanted = {
                    r[0]
                    for r in conn.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                        (table,),
                    )
                }
                if not wanted:
                    continue
                conn.execute(f'DELETE FROM "{table}"')  # rows the migrations put there
                columns = [r[1] for r in lite.execute(f'PRAGMA table_info("{table}")')]
                columns = [c for c in columns if c in wanted]
                listed = ", ".join(f'"{c}"' for c in columns)
                cursor = lite.execute(f'SELECT {listed} FROM "{table}"')
                with conn.cursor() as pg, pg.copy(f'COPY "{table}" ({listed}) FROM STDIN') as copy:
                    while rows := cursor.fetchmany(CHUNK):
                        for row in rows:
                            copy.write_row(row)
                if "id" in columns:
                    serial = conn.execute(
                        "SELECT pg_get_serial_sequence(%s, 'id')", (f'"{table}"',)
                    ).fetchone()
                    if serial and serial[0]:
                        conn.execute(
                            f'SELECT setval(%s, (SELECT coalesce(max(id), 0) + 1 FROM "{table}"),'
                            " false)",
                            (serial[0],),
                        )
            conn.execute("VACUUM ANALYZE")
    finally:
        lite.close()
