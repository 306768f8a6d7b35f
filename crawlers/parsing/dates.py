"""Dates as review pages and Chinese forums print them → tz-aware UTC datetimes (pure).

Forums and shops rarely print an ISO timestamp: they print "3天前", "昨天 12:30", "11月20日" — relative to
the moment the page was rendered and in the site's own (unstated) timezone. We crawl within seconds of
that moment, so `now` (the crawl time) is the reference, and the configured timezone (Asia/Shanghai by
default: Chinese sites print Beijing time) turns wall-clock values into UTC.

`dateparser` handles most of these, but returns None for "11月20日" and reads "MM-DD HH:MM" forum stamps
inconsistently, so the Chinese forms are parsed by the small rules below and `dateparser` is only the
fallback for everything else (English free text such as "October 24, 2011" in older review markup).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TIMEZONE", "parse_date", "parse_timezone"]

DEFAULT_TIMEZONE = "Asia/Shanghai"

# Full-width digits, colon and hyphen appear in Chinese pages (２０２６－１１－２０).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９：－／", "0123456789:-/")
_CN_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}

_UNIT_SECONDS = {
    "秒": 1,
    "秒钟": 1,
    "分": 60,
    "分钟": 60,
    "小时": 3600,
    "个小时": 3600,
    "天": 86400,
    "日": 86400,
    "周": 7 * 86400,
    "星期": 7 * 86400,
    "个星期": 7 * 86400,
    "个月": 30 * 86400,  # a calendar month is not needed this precisely: "2个月前" is approximate anyway
    "月": 30 * 86400,
    "年": 365 * 86400,
}
_TIME = r"(?:\s*(?P<hour>\d{1,2})[:点时](?P<minute>\d{1,2})?(?:[:分](?P<second>\d{1,2}))?秒?)?"
_RELATIVE = re.compile(
    r"(?P<n>\d+|[一二两三四五六七八九十]|半)\s*(?P<unit>秒钟?|分钟?|个?小时|[天日]|个?星期|周|个?月|年)\s*[以之]?前"
)
_DAY_WORD = re.compile(r"(?P<word>今天|今日|昨天|昨日|前天|大前天)" + _TIME)
_FULL = re.compile(
    r"(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:\s*T?\s*(?P<hour>\d{1,2})[:点时](?P<minute>\d{1,2})?(?:[:分](?P<second>\d{1,2}))?)?"
)
_MONTH_DAY = re.compile(r"(?P<month>\d{1,2})\s*(?:月|-|/)\s*(?P<day>\d{1,2})\s*日?" + _TIME)
_CLOCK_ONLY = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?")
_JUST_NOW = re.compile(r"刚刚|刚才|just now", re.IGNORECASE)
_DAY_OFFSET = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}


def parse_timezone(name: str) -> tzinfo:
    """A zone by IANA name; ValueError for an unknown one (a config typo must fail loudly)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None


def parse_date(value: str | None, *, now: datetime, tz: tzinfo | str = DEFAULT_TIMEZONE) -> datetime | None:
    """Read one printed date; None when it is empty or not a date.

    `now` is the crawl time (tz-aware); `tz` the zone the site prints wall-clock times in. Values with
    their own offset (ISO 8601 with `Z` or `+08:00`) keep it. A month-day without a year ("11月20日")
    is the latest such day not after today, so a December crawl of "12月31日" is this year, a January
    crawl of it last year. A time of day alone ("08:00") is today, as forums print today's posts.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not value or not value.strip():
        return None
    zone = parse_timezone(tz) if isinstance(tz, str) else tz
    text = " ".join(value.translate(_FULL_WIDTH).split())
    local_now = now.astimezone(zone)
    parsed = _parse_iso(text) or _parse_chinese(text, local_now=local_now, zone=zone)
    if parsed is None:
        parsed = _parse_with_dateparser(text, now=now, zone=zone)
    if parsed is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00:00+01:00" falls before the first UTC datetime: no real date
        return None


def _parse_iso(text: str) -> datetime | None:
    """ISO 8601 with an offset ("2026-11-20T13:45:00+08:00", "...Z"); naive forms go to the rules."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _parse_chinese(text: str, *, local_now: datetime, zone: tzinfo) -> datetime | None:
    if _JUST_NOW.fullmatch(text):
        return local_now
    if match := _RELATIVE.search(text):
        return local_now - timedelta(seconds=_amount(match["n"]) * _UNIT_SECONDS[match["unit"]])
    if match := _DAY_WORD.search(text):
        day = local_now.date() - timedelta(days=_DAY_OFFSET[match["word"]])
        if match["hour"] is None:
            # "前天" alone: that day, at the current time of day, as dateparser and the sites themselves
            # do ("3天前" is also now minus 72 h); it keeps relative items in their order on the page.
            return datetime.combine(day, local_now.timetz().replace(tzinfo=None), zone)
        return _at(day, match, zone)
    if match := _FULL.search(text):
        return _at(_date(match["year"], match["month"], match["day"]), match, zone)
    if match := _CLOCK_ONLY.fullmatch(text):
        return _at(local_now.date(), match, zone)
    if match := _MONTH_DAY.fullmatch(text):
        this_year = _date(str(local_now.year), match["month"], match["day"])
        if this_year is not None and this_year > local_now.date():
            this_year = _date(str(local_now.year - 1), match["month"], match["day"])
        return _at(this_year, match, zone)
    return None


def _amount(count: str) -> float:
    if count == "半":
        return 0.5
    return float(_CN_DIGITS[count]) if count in _CN_DIGITS else float(count)


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:  # "2月30日"
        return None


def _at(day: date | None, match: re.Match[str], zone: tzinfo) -> datetime | None:
    if day is None:
        return None
    try:
        clock = time(int(match["hour"] or 0), int(match["minute"] or 0), int(match["second"] or 0))
    except ValueError:  # "25:70"
        return None
    return datetime.combine(day, clock, zone)


def _parse_with_dateparser(text: str, *, now: datetime, zone: tzinfo) -> datetime | None:
    """Free text in any language dateparser knows ("October 24, 2011"); imported lazily, it is slow to
    load and most pages never need it."""
    import dateparser

    settings = {
        "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
        "TIMEZONE": str(zone),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
        "STRICT_PARSING": False,
    }
    if not any(ch.isdigit() for ch in text):
        return None  # "yesterday"-style words are handled above for Chinese; anything else is a guess
    parsed: datetime | None = dateparser.parse(text, settings=settings)
    return parsed
