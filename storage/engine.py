"""Engines and session factories for the two supported backends.

SQLite is the embedded default and needs care to behave under concurrent processes (a crawler subprocess
writes while the daemon analyzes): WAL so readers never block the writer, foreign keys on (SQLite has them
off per connection), a busy timeout instead of instant "database is locked", and BEGIN IMMEDIATE so that
a transaction takes the write lock when it starts. A deferred BEGIN would upgrade to a writer mid-way and
fail at once with SQLITE_BUSY whenever another process wrote first, regardless of the busy timeout.
A transaction that only reads (`read_only`) begins deferred instead: in WAL mode it then waits for no
writer and no writer waits for it. The busy timeout is 30 s unless the URL sets the driver's own
`?timeout=SECONDS`.

A database that goes away for a while (PostgreSQL restarted, a SQLite lock held past the busy timeout)
raises `sqlalchemy.exc.OperationalError`. Long-running loops retry those (`is_transient_error`) and log
them as one line (`describe_error`); pooled PostgreSQL connections that died with the server are
replaced at checkout (`pool_pre_ping`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from storage.errors import UnsupportedDatabaseError

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "describe_error",
    "is_transient_error",
    "make_engine",
    "make_session_factory",
    "read_only",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
_READ_ONLY = "vocwatch_read_only"  # a connection execution option: see `read_only`


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


@contextmanager
def read_only(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction that only reads: on SQLite it begins deferred, so it neither waits for
    nor holds the database's single write lock (a write in it would fail with SQLITE_BUSY under load, and
    that is the caller's bug). On PostgreSQL it is an ordinary transaction.
    """
    with sessions() as session, session.begin():
        session.connection(execution_options={_READ_ONLY: True})
        yield session


def is_transient_error(error: BaseException) -> bool:
    """True for a database error that waiting and retrying can cure: the server is down, restarting or
    dropped the connection (PostgreSQL), or another writer held the lock past the busy timeout (SQLite).

    Other errors (a constraint violated, a missing table, bad SQL) are bugs or setup mistakes that a
    retry would only repeat; SQLite reports a missing table as an OperationalError too, so for SQLite
    only "locked"/"busy" count.
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if isinstance(error.orig, sqlite3.Error):
        message = str(error.orig).lower()
        return "locked" in message or "busy" in message
    return True


def describe_error(error: BaseException) -> str:
    """One line for a log or the ledger: the exception type and the driver's message.

    SQLAlchemy's own text adds the SQL, its parameters (customer text) and a link over several lines;
    psycopg's messages span lines too. Neither carries the password of the URL.
    """
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    message = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {message}" if message else type(cause).__name__


def _make_sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS
    if "timeout" in url.query:  # the driver's own parameter, in seconds: honour it, not our default
        busy_timeout_ms = round(float(str(url.query["timeout"])) * 1000)
    engine = create_engine(url)

    def configure(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        _configure_sqlite_connection(dbapi_connection, record, busy_timeout_ms=busy_timeout_ms)

    event.listen(engine, "connect", configure)
    event.listen(engine, "begin", _begin)
    return engine


def _configure_sqlite_connection(
    dbapi_connection: Any, _record: ConnectionPoolEntry, *, busy_timeout_ms: int
) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (the module's implicit
    # BEGIN breaks SAVEPOINTs and would start deferred transactions); see `_begin`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        # Durable at every checkpoint and safe against corruption in WAL mode, without an fsync per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
