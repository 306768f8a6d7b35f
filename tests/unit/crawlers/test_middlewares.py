from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.middlewares import parse_retry_after

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Fri, 01 Mar 2024 12:00:30 GMT", 30.0),
        ("Fri, 01 Mar 2024 11:00:00 GMT", 0.0),  # in the past: retry now
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds
