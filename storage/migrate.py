"""Schema migrations run from code: `vocwatch init` and upgrades call `upgrade(engine)`.

The migration scripts ship inside the package (`storage/migrations/`) and their location is resolved from
this file, so an installed vocwatch needs no alembic.ini and no working-directory conventions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from storage.errors import MigrationError

__all__ = [
    "FILE_TEMPLATE",
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Date-prefixed script names sort in creation order in a directory listing (repository alembic.ini agrees).
FILE_TEMPLATE = "%(year)d%(month).2d%(day).2d_%(hour).2d%(minute).2d_%(rev)s_%(slug)s"

# Any constant works; it only has to be the same in every process that migrates this database.
_PG_MIGRATION_LOCK = 0x766F6377  # "vocw"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the shipped scripts; env.py uses `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("file_template", FILE_TEMPLATE.replace("%", "%%"))
    config.set_main_option("timezone", "UTC")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the latest), in one transaction.

    On PostgreSQL an advisory lock makes a second process that starts at the same moment wait and then
    find nothing left to do; on SQLite the migration's BEGIN IMMEDIATE does the same.
    """
    with _migration_connection(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate down to `revision` (default: an empty database). For development and tests."""
    with _migration_connection(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction, with SQLite foreign keys off and PostgreSQL's migration lock held.

    SQLite cannot ALTER most things, so batch migrations copy a table, drop the old one and rename the
    copy; with foreign keys enforced that drop would fail or cascade. Keys are switched off for the
    migration (the pragma is a no-op inside a transaction), checked before commit, and switched back on.
    """
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if is_sqlite:
            _sqlite_pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    lock = text("SELECT pg_advisory_xact_lock(:key)")
                    connection.execute(lock, {"key": _PG_MIGRATION_LOCK})
                yield connection
                if is_sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(f"migration left rows with broken foreign keys: {broken[:5]}")
        finally:
            if is_sqlite:
                _sqlite_pragma(connection, "foreign_keys=ON")


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    """Run a pragma on the DBAPI connection directly: through SQLAlchemy it would first BEGIN."""
    driver_connection = connection.connection.driver_connection
    assert driver_connection is not None
    driver_connection.execute(f"PRAGMA {pragma}")
