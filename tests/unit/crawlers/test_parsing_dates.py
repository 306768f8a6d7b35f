"""Chinese relative/absolute dates, read against the crawl time in the site's zone, returned in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crawlers.parsing.dates import parse_date, parse_timezone

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3天前", datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        ("5分钟前", datetime(2026, 11, 23, 1, 55, tzinfo=UTC)),
        ("2小时前", datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),
        ("30秒前", datetime(2026, 11, 23, 1, 59, 30, tzinfo=UTC)),
        ("半小时前", datetime(2026, 11, 23, 1, 30, tzinfo=UTC)),
        ("两周前", datetime(2026, 11, 9, 2, 0, tzinfo=UTC)),
        ("发表于 3 天前", datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        ("刚刚", NOW),
        ("昨天 12:30", datetime(2026, 11, 22, 4, 30, tzinfo=UTC)),
        ("前天", datetime(2026, 11, 21, 2, 0, tzinfo=UTC)),
        ("今天 08:00", datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),
        ("08:00", datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),
        ("2026-11-20 13:45", datetime(2026, 11, 20, 5, 45, tzinfo=UTC)),
        ("2026/11/20 13:45:10", datetime(2026, 11, 20, 5, 45, 10, tzinfo=UTC)),
        ("２０２６－１１－２０", datetime(2026, 11, 19, 16, 0, tzinfo=UTC)),  # full-width digits
        ("2025年3月5日 10:20", datetime(2025, 3, 5, 2, 20, tzinfo=UTC)),
        ("11月20日", datetime(2026, 11, 19, 16, 0, tzinfo=UTC)),
        ("12月31日", datetime(2025, 12, 30, 16, 0, tzinfo=UTC)),  # not in the future: last year
        ("11-20 13:45", datetime(2026, 11, 20, 5, 45, tzinfo=UTC)),
        ("2024-03-07T12:15:00Z", datetime(2024, 3, 7, 12, 15, tzinfo=UTC)),  # its own offset wins
        ("2024-03-07T20:15:00+08:00", datetime(2024, 3, 7, 12, 15, tzinfo=UTC)),
        ("October 24, 2011", datetime(2011, 10, 23, 16, 0, tzinfo=UTC)),  # dateparser fallback
    ],
)
def test_dates_are_read_in_beijing_time_and_stored_utc(text: str, expected: datetime) -> None:
    assert parse_date(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text",
    # the last: an offset date before the first UTC datetime (found by the hostile-markup property test)
    [None, "", "   ", "hello", "2月30日", "25:70", "楼主", "0001-01-01T00:00:00+01:00"],
)
def test_non_dates_are_none(text: str | None) -> None:
    assert parse_date(text, now=NOW) is None


def test_timezone_is_configurable() -> None:
    assert parse_date("昨天 12:30", now=NOW, tz="Europe/Berlin") == datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
    assert parse_date("今天 08:00", now=NOW, tz=ZoneInfo("UTC")) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_naive_now_and_unknown_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_date("3天前", now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown timezone"):
        parse_timezone("Asia/Atlantis")
