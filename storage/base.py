"""The declarative base: constraint names, portable column types, and the UTC datetime type.

Everything a model module needs to declare a table comes from here, so that every table gets the same
conventions: named constraints (Alembic can only alter or drop what has a stable name), aware UTC
datetimes on every backend, StrEnums stored as VARCHAR, JSONB on PostgreSQL, and 64-bit ids on
PostgreSQL that stay SQLite rowid aliases.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer, MetaData, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator, TypeEngine

from storage.errors import NaiveDatetimeError

__all__ = ["NAMING_CONVENTION", "Base", "BigId", "UTCDateTime", "str_enum", "utcnow"]

NAMING_CONVENTION: dict[str, str] = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(column_0_label)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}

# BIGINT on PostgreSQL (mentions and alerts grow without bound); on SQLite only INTEGER PRIMARY KEY is an
# alias of the rowid that autoincrements, so the variant keeps it INTEGER there.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Column default for rows whose writer has no clock of its own to pass in."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC on the way in and on the way out, on every backend.

    `DateTime(timezone=True)` is TIMESTAMPTZ on PostgreSQL but a plain string on SQLite, which reads back
    naive; comparing naive and aware datetimes then raises far from the cause. So naive input is refused
    (it is ambiguous), aware input is converted to UTC, and SQLite stores UTC without an offset so that
    its text comparisons (`next_attempt_at <= :now`) order correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime {value.isoformat()} refused: use datetime.now(UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    """Store members by value ('pending'), not by SQLAlchemy's default, the member name ('PENDING')."""
    return [str(member.value) for member in enum_class]


def str_enum(enum_class: type[enum.StrEnum], *, length: int) -> Enum:
    """The column type of a StrEnum column whose VARCHAR is not the default 32 characters long.

    For a column that held plain strings before its vocabulary became an enum: same values, same width,
    so the schema (and its migrations) stay as they were.
    """
    return Enum(enum_class, native_enum=False, length=length, values_callable=_enum_values)


class Base(DeclarativeBase):
    """Base of all vocwatch tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute as-is
        datetime: UTCDateTime(),
        # native_enum=False: VARCHAR on PostgreSQL too, so a new status needs no ALTER TYPE migration.
        enum.Enum: Enum(enum.Enum, native_enum=False, length=32, values_callable=_enum_values),
        str: Text(),
        dict[str, Any]: JSON().with_variant(JSONB(), "postgresql"),
        list[dict[str, Any]]: JSON().with_variant(JSONB(), "postgresql"),
        list[str]: JSON().with_variant(JSONB(), "postgresql"),
    }
