"""SQLite lock faults: another connection holds the database's write lock while vocwatch wants to write.

In production that is a second daemon on the same file, a backup tool, or someone at a `sqlite3` prompt
in the middle of a transaction. vocwatch's engines start every transaction with BEGIN IMMEDIATE and wait
up to the busy timeout for the lock (30 s, or the URL's `?timeout=SECONDS`): a lock held for less is
waited out, one held for longer fails the transaction with "database is locked".

- `with_busy_timeout(url, seconds)`  the same database with a short busy timeout, so a test need not hold
                                     a lock for 30 s to go past it.
- `write_lock(path)`  hold the write lock (BEGIN IMMEDIATE on a connection of our own) for the block.
- `scalar(path, sql)`  read a number without taking any lock (WAL: readers never wait for the writer).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["database_path", "scalar", "with_busy_timeout", "write_lock"]


def database_path(url: str) -> Path:
    database = make_url(url).database
    assert database, f"not a SQLite file URL: {url}"
    return Path(database)


def with_busy_timeout(url: str, seconds: float) -> str:
    """`url` with the sqlite3 driver's `timeout` parameter, which vocwatch's engine takes as busy timeout."""
    return make_url(url).update_query_dict({"timeout": str(seconds)}).render_as_string(hide_password=False)


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Hold the write lock of the SQLite file at `path` until the block ends (then roll back).

    Taking it waits up to 10 s for a writer that holds it right now (a crawler committing a batch).
    """
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")


def scalar(path: Path, sql: str) -> int:
    """One integer from a plain read: no BEGIN IMMEDIATE, so it works while a writer holds the lock."""
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as connection:
        row = connection.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
