from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

import storage
from storage.models import Mention
from tests.support.service_sqlite import database_path, with_busy_timeout, write_lock


def test_sqlite_engine_creates_its_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "vocwatch.db"
    engine = storage.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
        assert path.exists()
        assert pragma == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": storage.engine.SQLITE_BUSY_TIMEOUT_MS,
        }
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(db_url: str) -> None:
    engine = storage.make_engine(db_url)
    sessions = storage.make_session_factory(engine)
    try:
        with pytest.raises(IntegrityError), sessions.begin() as session:
            session.add(
                Mention(
                    source_id=999,
                    external_id="x",
                    url="u",
                    text="t",
                    collected_at=datetime.now(UTC),
                    content_hash="0" * 64,
                )
            )
    finally:
        engine.dispose()


def test_committed_rows_are_readable_after_commit(db_url: str) -> None:
    """expire_on_commit=False: a stage can hand rows on after its transaction without reloading them."""
    engine = storage.make_engine(db_url)
    sessions = storage.make_session_factory(engine)
    try:
        with sessions.begin() as session:
            source = storage.sources.upsert_source(
                session, name="s", kind="rss", config={}, default_touchpoint=None
            )
        assert source.name == "s"
    finally:
        engine.dispose()


def test_savepoints_roll_back_on_their_own(db_url: str) -> None:
    engine = storage.make_engine(db_url)
    sessions = storage.make_session_factory(engine)
    try:
        with sessions.begin() as session:
            storage.sources.upsert_source(
                session, name="kept", kind="rss", config={}, default_touchpoint=None
            )
            with pytest.raises(RuntimeError), session.begin_nested():
                storage.sources.upsert_source(
                    session, name="dropped", kind="rss", config={}, default_touchpoint=None
                )
                raise RuntimeError
        with engine.connect() as connection:
            names = connection.execute(text("SELECT name FROM sources")).scalars().all()
        assert names == ["kept"]
    finally:
        engine.dispose()


def test_sqlite_writers_queue_instead_of_failing(migrated_sqlite_url: str) -> None:
    """A second writer waits for the first (BEGIN IMMEDIATE + busy timeout) and then sees its rows.

    With SQLite's default deferred BEGIN, the second transaction would read a snapshot without the
    first writer's row and then fail with "database is locked" when it tried to write.
    """
    first_engine, second_engine = (
        storage.make_engine(migrated_sqlite_url),
        storage.make_engine(migrated_sqlite_url),
    )
    first_sessions, second_sessions = (storage.make_session_factory(e) for e in (first_engine, second_engine))
    about_to_begin = threading.Event()
    seen: list[list[str]] = []
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            about_to_begin.set()
            with second_sessions.begin() as session:
                seen.append([s.name for s in storage.sources.list_sources(session)])
                storage.sources.upsert_source(
                    session, name="second", kind="rss", config={}, default_touchpoint=None
                )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    try:
        with first_sessions.begin() as session:
            storage.sources.upsert_source(
                session, name="first", kind="rss", config={}, default_touchpoint=None
            )
            writer = threading.Thread(target=second_writer)
            writer.start()
            assert about_to_begin.wait(timeout=10)
            writer.join(timeout=0.3)
            assert writer.is_alive(), "the second writer should wait for the first transaction"
        writer.join(timeout=20)
        assert not writer.is_alive()
        assert errors == []
        assert seen == [["first"]]
    finally:
        first_engine.dispose()
        second_engine.dispose()


def test_a_read_only_transaction_neither_waits_for_nor_blocks_a_sqlite_writer(
    migrated_sqlite_url: str,
) -> None:
    """`read_only` begins deferred: it reads while another process holds the write lock (an ordinary
    transaction, BEGIN IMMEDIATE, times out there), and that writer commits while it is still open."""
    engine = storage.make_engine(with_busy_timeout(migrated_sqlite_url, 0.2))
    sessions = storage.make_session_factory(engine)
    path = database_path(migrated_sqlite_url)
    try:
        with sessions.begin() as session:
            storage.sources.upsert_source(
                session, name="before", kind="rss", config={}, default_touchpoint=None
            )
        with write_lock(path):
            with storage.engine.read_only(sessions) as session:
                names = [s.name for s in storage.sources.list_sources(session)]
            with pytest.raises(OperationalError, match="database is locked"), sessions.begin() as session:
                storage.sources.list_sources(session)
        with storage.engine.read_only(sessions) as session:
            assert [s.name for s in storage.sources.list_sources(session)] == ["before"]
            with closing(sqlite3.connect(path, timeout=1, isolation_level=None)) as other:
                other.execute("BEGIN IMMEDIATE")  # would time out if the read held a lock writers wait for
                other.execute("UPDATE sources SET name = 'renamed'")
                other.execute("COMMIT")
            assert [s.name for s in storage.sources.list_sources(session)] == ["before"]  # its snapshot
        assert names == ["before"]
        with storage.engine.read_only(sessions) as session:
            assert [s.name for s in storage.sources.list_sources(session)] == ["renamed"]
    finally:
        engine.dispose()
