"""ISO weeks in the operator's time zone: which week a digest covers and where it starts and ends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notifier.errors import WeekFormatError

__all__ = ["IsoWeek"]

_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week (Monday to Sunday), e.g. `IsoWeek(2026, 47)` = "2026-W47"."""

    year: int
    week: int

    def __post_init__(self) -> None:
        date.fromisocalendar(self.year, self.week, 1)  # ValueError for week 53 of a 52-week year etc.

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """`2026-W47` → IsoWeek(2026, 47); anything else, or a week the year lacks, raises WeekFormatError."""
        match = _PATTERN.match(text.strip())
        if match is None:
            raise WeekFormatError(f"week {text!r} is not of the form YYYY-Www, e.g. 2026-W47")
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except ValueError as problem:  # week 00, or week 53 of a 52-week year
            raise WeekFormatError(f"week {text!r} does not exist ({problem})") from None

    @classmethod
    def containing(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def last_complete(cls, now: datetime, tz: str = "UTC") -> IsoWeek:
        """The latest week that has fully ended at `now` in `tz`: on a Monday, the week before."""
        local_day = now.astimezone(ZoneInfo(tz)).date()
        return cls.containing(local_day - timedelta(days=7))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def minus(self, weeks: int) -> IsoWeek:
        return IsoWeek.containing(self.monday - timedelta(weeks=weeks))

    def has_started(self, now: datetime, tz: str = "UTC") -> bool:
        """Whether the week's Monday 00:00 in `tz` is at or before `now`."""
        return self.bounds(tz)[0] <= now

    def is_over(self, now: datetime, tz: str = "UTC") -> bool:
        """Whether the week has ended at `now`: its next Monday 00:00 in `tz` is at or before `now`.
        Only a week that is over has a complete digest."""
        return self.bounds(tz)[1] <= now

    def bounds(self, tz: str = "UTC") -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) local time in `tz`, as aware UTC datetimes."""
        zone = ZoneInfo(tz)
        start = datetime.combine(self.monday, time(), tzinfo=zone)
        end = datetime.combine(self.monday + timedelta(days=7), time(), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)
