"""Database fixtures: real SQLite files and real PostgreSQL databases, migrated by Alembic.

The schema always comes from `storage.upgrade` (so every test run also tests the migrations), and only
once per backend per session: it migrates a *template* (a SQLite file; a PostgreSQL template database),
and each test that needs its own database gets a clone of it, which is much cheaper than migrating.

Fixtures:
- `db_backend`   session, parametrised `sqlite` / `postgresql` (the latter marked `postgres`).
- `db_url`       a fresh, migrated, empty database of that backend for this test; commit freely.
- `db_engine`    session-wide engine on one shared migrated database per backend (for `db_session`).
- `db_session`   a Session joined to an outer transaction that is rolled back after the test; the code
                 under test may commit (`join_transaction_mode="create_savepoint"` turns that into a
                 savepoint release), nothing reaches other tests.
- `migrated_sqlite_url`   a fresh migrated SQLite file for this test, whatever the backend parameter.
- `migrated_postgres_url` the same on PostgreSQL (mark the test `postgres`).

PostgreSQL: 127.0.0.1:5432, user postgres, trust auth (override the admin URL with TEST_POSTGRES_URL).
Each session creates uniquely named databases and drops them afterwards. When the server is unreachable
the postgresql tests are skipped with the reason, except under CI=true, where they fail: a CI run must
not pass by silently skipping half the storage suite.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import storage

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

DB_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _libpq_conninfo(url: str) -> str:
    """psycopg wants a libpq URL, without SQLAlchemy's `+psycopg` driver suffix."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _database_url(admin_url: str, name: str) -> str:
    return (
        make_url(admin_url)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )


def _admin_execute(admin_url: str, statement: sql.Composed) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    with psycopg.connect(_libpq_conninfo(admin_url), autocommit=True, connect_timeout=5) as connection:
        connection.execute(statement)


def _create_database(admin_url: str, name: str, *, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    _admin_execute(admin_url, statement)


def _drop_database(admin_url: str, name: str) -> None:
    # FORCE: an engine a failing test never disposed must not leak the database.
    _admin_execute(admin_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _unique_name(purpose: str) -> str:
    return f"vocwatch_test_{os.getpid()}_{purpose}_{secrets.token_hex(4)}"


def _migrate(url: str) -> None:
    engine = storage.make_engine(url)
    try:
        storage.upgrade(engine)
    finally:
        # Closing the last connection checkpoints SQLite's WAL into the file (so a plain file copy is a
        # complete clone) and frees a PostgreSQL template database for CREATE DATABASE ... TEMPLATE.
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of the maintenance database used to create and drop test databases; skips when unreachable."""
    url = os.environ.get("TEST_POSTGRES_URL", POSTGRES_ADMIN_URL)
    try:
        with psycopg.connect(_libpq_conninfo(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as error:
        detail = " ".join(str(error).split())
        reason = f"PostgreSQL unreachable at {make_url(url).render_as_string()}: {detail}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the postgres tests must run)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies."""
    path = tmp_path_factory.mktemp("db-template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """Name of a PostgreSQL database migrated to head once per session, used as a CREATE DATABASE template."""
    name = _unique_name("template")
    _create_database(postgres_admin_url, name)
    try:
        _migrate(_database_url(postgres_admin_url, name))
        yield name
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.fixture
def migrated_sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite database at head, in this test's tmp_path; tests and subprocesses may commit to it."""
    path = tmp_path / "vocwatch.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def migrated_postgres_url(postgres_admin_url: str, postgres_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database at head for this test, dropped afterwards."""
    name = _unique_name("db")
    _create_database(postgres_admin_url, name, template=postgres_template)
    try:
        yield _database_url(postgres_admin_url, name)
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session", params=DB_BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgresql`: the one parameter every backend-dependent fixture follows."""
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest) -> str:
    """A fresh migrated database of the current backend for this test."""
    fixture = "migrated_sqlite_url" if db_backend == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(scope="session")
def db_engine(db_backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on one migrated database per backend, shared by the session's `db_session`s."""
    if db_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = template.with_name("shared.db")
        shutil.copyfile(template, path)
        engine = storage.make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    name = _unique_name("shared")
    _create_database(admin_url, name, template=request.getfixturevalue("postgres_template"))
    engine = storage.make_engine(_database_url(admin_url, name))
    try:
        yield engine
    finally:
        engine.dispose()
        _drop_database(admin_url, name)


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A session whose every change, committed or not, is rolled back when the test ends."""
    with db_engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
