"""The coverage ledger: is each source still being heard? (`vocwatch sources`)

A monitor's worst failure is silence that looks like calm: a blocked site, a dead feed or a broken
selector yields zero negative mentions, which reads as good news. So every source gets a status from its
crawl runs, judged against its own history rather than a global threshold (a niche forum with 3 posts a
week is fine at 3, a busy subreddit is not):

- **dark**: we hear nothing: never crawled, no successful run for the last `dark_after_failures` runs,
  or zero new items for 7 days where the source usually brings some.
- **degraded**: we hear less than we should: the latest run failed, more than `max_error_rate` of
  recent runs failed, the latest run was cut short by its page cap (coverage truncated), or the last
  24 h brought less than a third of the usual daily volume.
- **ok** otherwise.

`assess_source` is pure (run values in, verdict out) so the rules are unit-tested without a database.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import models
from storage.enums import CrawlRunStatus

__all__ = [
    "LedgerThresholds",
    "RunRecord",
    "SourceHealth",
    "SourceStatus",
    "assess_source",
    "format_ago",
    "format_versus",
    "source_ledger",
]

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


class SourceStatus(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DARK = "dark"


@dataclass(frozen=True)
class RunRecord:
    """The values of one crawl_runs row the ledger reads."""

    started_at: datetime
    status: str  # running / ok / failed
    items_new: int = 0
    stop_reason: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, run: models.CrawlRun) -> RunRecord:
        return cls(
            started_at=run.started_at,
            status=str(run.status),
            items_new=run.items_new,
            stop_reason=run.stop_reason,
            error=run.error,
        )


@dataclass(frozen=True)
class LedgerThresholds:
    dark_after_failures: int = 3  # this many finished runs in a row without success: dark
    recent_runs: int = 10  # the error rate is taken over this many finished runs
    max_error_rate: float = 0.3
    low_volume_ratio: float = 1 / 3  # last 24 h below this share of the usual day: degraded
    min_usual_per_day: float = 3.0  # below this, a quiet day is not news
    baseline_days: int = 7  # "usual day": median of the daily counts of this many prior days
    baseline_weeks: int = 4  # "usual week": median of this many prior weeks


@dataclass(frozen=True)
class SourceHealth:
    status: SourceStatus
    reason: str  # one line: why this status
    last_success_at: datetime | None
    last_run_at: datetime | None
    last_stop_reason: str | None
    items_24h: int
    items_7d: int
    usual_24h: float | None  # None: not enough history yet
    usual_7d: float | None
    error_rate: float | None  # over the recent finished runs; None without any
    runs_finished: int = 0  # 0 while the first crawl is still running: nothing to judge yet


def assess_source(
    runs: Sequence[RunRecord], *, now: datetime, thresholds: LedgerThresholds | None = None
) -> SourceHealth:
    """Judge one source from its runs (any order). Runs still `running` count for volume only."""
    limits = thresholds or LedgerThresholds()
    ordered = sorted(runs, key=lambda r: r.started_at, reverse=True)
    finished = [r for r in ordered if r.status != CrawlRunStatus.RUNNING]
    successes = [r for r in finished if r.status == CrawlRunStatus.OK]
    recent = finished[: limits.recent_runs]
    first_run_at = ordered[-1].started_at if ordered else None
    items_24h = _items(ordered, now - _DAY, now)
    items_7d = _items(ordered, now - _WEEK, now)
    usual_24h = _usual(ordered, now=now, period=_DAY, count=limits.baseline_days, since=first_run_at)
    usual_7d = _usual(ordered, now=now, period=_WEEK, count=limits.baseline_weeks, since=first_run_at)
    error_rate = sum(r.status == CrawlRunStatus.FAILED for r in recent) / len(recent) if recent else None
    latest = finished[0] if finished else None
    status, reason = _verdict(
        finished, successes, limits, items_24h, items_7d, usual_24h, usual_7d, error_rate, latest
    )
    return SourceHealth(
        status=status,
        reason=reason,
        last_success_at=successes[0].started_at if successes else None,
        last_run_at=ordered[0].started_at if ordered else None,
        last_stop_reason=latest.stop_reason if latest else None,
        items_24h=items_24h,
        items_7d=items_7d,
        usual_24h=usual_24h,
        usual_7d=usual_7d,
        error_rate=error_rate,
        runs_finished=len(finished),
    )


def _verdict(
    finished: Sequence[RunRecord],
    successes: Sequence[RunRecord],
    limits: LedgerThresholds,
    items_24h: int,
    items_7d: int,
    usual_24h: float | None,
    usual_7d: float | None,
    error_rate: float | None,
    latest: RunRecord | None,
) -> tuple[SourceStatus, str]:
    if latest is None:
        return SourceStatus.DARK, "never crawled"
    failing = 0
    for run in finished:
        if run.status == CrawlRunStatus.OK:
            break
        failing += 1
    if failing >= limits.dark_after_failures or (not successes and failing == len(finished) > 1):
        return SourceStatus.DARK, f"last {failing} run(s) failed: {latest.stop_reason or 'error'}"
    if usual_7d and items_7d == 0:
        return SourceStatus.DARK, f"no new items for 7 days (usually {usual_7d:g} a week)"
    if latest.status == CrawlRunStatus.FAILED:
        return SourceStatus.DEGRADED, f"last run failed: {latest.stop_reason or 'error'}"
    if error_rate is not None and error_rate > limits.max_error_rate:
        return SourceStatus.DEGRADED, f"{error_rate:.0%} of recent runs failed"
    if latest.stop_reason == "cap_reached":
        return SourceStatus.DEGRADED, "last run hit its page cap: coverage truncated"
    if (
        usual_24h is not None
        and usual_24h >= limits.min_usual_per_day
        and items_24h < usual_24h * limits.low_volume_ratio
    ):
        return SourceStatus.DEGRADED, f"{items_24h} new items in 24 h, usually {usual_24h:g}"
    return SourceStatus.OK, "ok"


def _items(runs: Sequence[RunRecord], start: datetime, end: datetime) -> int:
    return sum(r.items_new for r in runs if start <= r.started_at < end)


def _usual(
    runs: Sequence[RunRecord], *, now: datetime, period: timedelta, count: int, since: datetime | None
) -> float | None:
    """Median new items per `period` over the `count` periods before the current one, counting only
    periods that lie wholly after the source's first run (a new source has no "usual" yet)."""
    if since is None:
        return None
    totals = []
    for back in range(1, count + 1):
        end = now - period * back
        start = end - period
        if start < since:
            break
        totals.append(_items(runs, start, end))
    return float(statistics.median(totals)) if totals else None


def source_ledger(
    sessions: sessionmaker[Session], *, now: datetime, thresholds: LedgerThresholds | None = None
) -> list[tuple[models.Source, SourceHealth]]:
    """Every enabled crawled source with its health, by name. Reads ~5 weeks of runs (the weekly
    baseline's window)."""
    limits = thresholds or LedgerThresholds()
    since = now - _WEEK * (limits.baseline_weeks + 1)
    with sessions() as session:
        sources = storage.sources.list_sources(session)
        runs = storage.runs.list_recent_runs(session, since=since, at_least=limits.recent_runs)
        session.expunge_all()
    return [
        (
            source,
            assess_source([RunRecord.of(r) for r in runs.get(source.id, [])], now=now, thresholds=limits),
        )
        for source in sources
        # survey sources are imported, not crawled (no runs to judge); disabled ones are off on purpose
        if source.kind != "survey" and source.enabled
    ]


def format_ago(when: datetime | None, now: datetime) -> str:
    """'3 h ago' for the table; 'never' when there was no such run."""
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit} ago"
    return "just now"


def format_versus(count: int, usual: float | None) -> str:
    """'12 (30)': this period's count and, once there is history, the usual one."""
    return f"{count}" if usual is None else f"{count} ({usual:g})"
