"""Engines and session factories for the two supported backends.

SQLite is the embedded default and needs care to behave under concurrent processes (a crawler subprocess
writes while the daemon analyzes): WAL so readers never block the writer, foreign keys on (SQLite has them
off per connection), a busy timeout instead of instant "database is locked", and BEGIN IMMEDIATE so that
a transaction takes the write lock when it starts. A deferred BEGIN would upgrade to a writer mid-way and
fail at once with SQLITE_BUSY whenever another process wrote first, regardless of the busy timeout.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from storage.errors import UnsupportedDatabaseError

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "make_engine", "make_session_factory"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    """Create an engine for a `sqlite:///path` or `postgresql+psycopg://` URL.

    A bare `postgresql://` URL is given the psycopg 3 driver (SQLAlchemy would otherwise look for
    psycopg2, which vocwatch does not install).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _make_sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise UnsupportedDatabaseError(
        f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://"
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit: stages hand rows on after their transaction."""
    return sessionmaker(engine, expire_on_commit=False)


def _make_sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (the module's implicit
    # BEGIN breaks SAVEPOINTs and would start deferred transactions); see `_begin_immediate`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Durable at every checkpoint and safe against corruption in WAL mode, without an fsync per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
