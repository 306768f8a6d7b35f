"""The crawl ledger: one row per run of a source, opened at start and closed with its counters."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.enums import CrawlRunStatus
from storage.models import CrawlRun

__all__ = ["finish_run", "list_recent_runs", "list_runs", "start_run"]


def start_run(session: Session, *, source_id: int, now: datetime) -> CrawlRun:
    """Open a run (status `running`); flushed so its id is known. A run that stays `running` died."""
    run = CrawlRun(
        source_id=source_id,
        status=CrawlRunStatus.RUNNING,
        started_at=now,
        items_seen=0,
        items_new=0,
        items_duplicate=0,
        items_failed=0,
        pages=0,
        http_status_counts={},
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    run: CrawlRun,
    *,
    now: datetime,
    status: CrawlRunStatus,
    items_seen: int | None = None,
    items_new: int | None = None,
    items_duplicate: int | None = None,
    items_failed: int | None = None,
    pages: int | None = None,
    http_status_counts: dict[str, Any] | None = None,
    stop_reason: str | None = None,
    error: str | None = None,
) -> None:
    """Close a run with its final counters; a counter left None keeps the value already on the row."""
    run.status = status
    run.finished_at = now
    if items_seen is not None:
        run.items_seen = items_seen
    if items_new is not None:
        run.items_new = items_new
    if items_duplicate is not None:
        run.items_duplicate = items_duplicate
    if items_failed is not None:
        run.items_failed = items_failed
    if pages is not None:
        run.pages = pages
    if http_status_counts is not None:
        run.http_status_counts = dict(http_status_counts)
    run.stop_reason = stop_reason
    run.error = error


def list_runs(session: Session, source_id: int, limit: int = 20) -> list[CrawlRun]:
    """The source's latest runs, newest first."""
    stmt = (
        select(CrawlRun)
        .where(CrawlRun.source_id == source_id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def list_recent_runs(session: Session, *, since: datetime, at_least: int = 10) -> dict[int, list[CrawlRun]]:
    """Runs per source id, newest first, for the coverage ledger: every run started since `since`, and
    at least each source's latest `at_least` runs however old (a source crawled weekly, or one whose
    scheduler stopped, still shows its recent history). Sources without runs are absent."""
    runs: dict[int, dict[int, CrawlRun]] = defaultdict(dict)
    for run in session.scalars(select(CrawlRun).where(CrawlRun.started_at >= since)):
        runs[run.source_id][run.id] = run
    source_ids = session.scalars(select(CrawlRun.source_id).distinct())
    for source_id in list(source_ids):
        for run in list_runs(session, source_id, limit=at_least):
            runs[source_id][run.id] = run
    return {
        source_id: sorted(by_id.values(), key=lambda r: (r.started_at, r.id), reverse=True)
        for source_id, by_id in runs.items()
    }
