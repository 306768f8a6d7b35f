"""The dialect-specific INSERT that the repositories use for ON CONFLICT clauses."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.errors import UnsupportedDatabaseError

DialectInsert: TypeAlias = postgresql.Insert | sqlite.Insert


def insert_for(session: Session, table: Any) -> DialectInsert:
    """`INSERT` of the session's backend: both offer `on_conflict_do_nothing/do_update` and RETURNING.

    Conflicts are resolved by the database, not by a SELECT beforehand, so two crawler processes writing
    the same mention cannot both insert it.
    """
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise UnsupportedDatabaseError(f"no ON CONFLICT support for {name!r}")
