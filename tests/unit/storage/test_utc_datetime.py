"""UTCDateTime's conversions, checked on the dialect objects alone (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Dialect
from sqlalchemy.dialects import postgresql, sqlite

from storage.base import UTCDateTime
from storage.errors import NaiveDatetimeError

CEST = timezone(timedelta(hours=2))
POSTGRESQL: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2025, 3, 1, 12, 0), sqlite.dialect())


def test_non_datetime_is_refused() -> None:
    with pytest.raises(TypeError):
        UTCDateTime().process_bind_param("2025-03-01", sqlite.dialect())  # type: ignore[arg-type]


def test_sqlite_stores_utc_without_offset() -> None:
    bound = UTCDateTime().process_bind_param(datetime(2025, 3, 1, 14, 0, tzinfo=CEST), sqlite.dialect())
    assert bound == datetime(2025, 3, 1, 12, 0)
    assert bound is not None
    assert bound.tzinfo is None


def test_postgresql_gets_aware_utc() -> None:
    bound = UTCDateTime().process_bind_param(datetime(2025, 3, 1, 14, 0, tzinfo=CEST), POSTGRESQL)
    assert bound == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert bound is not None
    assert bound.utcoffset() == timedelta(0)


def test_naive_result_is_read_as_utc() -> None:
    result = UTCDateTime().process_result_value(datetime(2025, 3, 1, 12, 0), sqlite.dialect())
    assert result == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert result is not None
    assert result.tzinfo is UTC


def test_aware_result_is_converted_to_utc() -> None:
    result = UTCDateTime().process_result_value(datetime(2025, 3, 1, 14, 0, tzinfo=CEST), POSTGRESQL)
    assert result is not None
    assert result.tzinfo is UTC
    assert result.hour == 12


def test_none_passes_through() -> None:
    assert UTCDateTime().process_bind_param(None, sqlite.dialect()) is None
    assert UTCDateTime().process_result_value(None, sqlite.dialect()) is None
