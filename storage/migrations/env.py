"""Alembic environment for vocwatch.

Run from code (`storage.migrate.upgrade(engine)` passes an open connection in `config.attributes`), or
by developers with the `alembic` command and the repository's alembic.ini (`sqlalchemy.url` there or
`-x url=...`). SQLite gets batch mode, since it cannot ALTER columns or constraints in place.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

import storage.models  # noqa: F401 - registers every table on Base.metadata
from storage.base import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write portable SQLAlchemy types into migration scripts, so they never import vocwatch code.

    A migration must keep working when the models change later; importing `storage.base` from it
    would tie old scripts to today's code.
    """
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, sa.Enum) and not obj.native_enum:
        # Statuses are plain VARCHAR: a new enum member must not need a migration.
        return f"sa.String(length={obj.length})"
    if isinstance(obj, sa.JSON) and "postgresql" in obj._variant_mapping:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


# Tables that live in the same database but are not ours: the daemon's APScheduler job store creates and
# owns `apscheduler_jobs`, so autogenerate must not propose dropping it.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and reflected and compare_to is None and name in FOREIGN_TABLES)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        include_object=include_object,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database: pass -x url=sqlite:///path.db or set sqlalchemy.url in alembic.ini")
    # storage.engine's engine, so the CLI gets the same SQLite pragmas and psycopg driver as the app.
    from storage.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")
main()
