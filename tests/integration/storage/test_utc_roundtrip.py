"""Times go in aware and come out aware UTC, on SQLite too; naive times never reach a row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from storage import runs
from storage.errors import NaiveDatetimeError
from storage.models import CrawlRun
from tests.support.storage_rows import make_source

TOKYO = timezone(timedelta(hours=9))


def test_aware_time_comes_back_as_the_same_instant_in_utc(db_session: Session) -> None:
    started = datetime(2025, 3, 3, 18, 30, 15, 123456, tzinfo=TOKYO)
    run = runs.start_run(db_session, source_id=make_source(db_session), now=started)
    db_session.expire_all()

    stored = db_session.get_one(CrawlRun, run.id).started_at

    assert stored == started
    assert stored.tzinfo is UTC
    assert stored == datetime(2025, 3, 3, 9, 30, 15, 123456, tzinfo=UTC)


def test_naive_time_is_refused(db_session: Session) -> None:
    source_id = make_source(db_session)
    with pytest.raises(StatementError) as raised:
        runs.start_run(db_session, source_id=source_id, now=datetime(2025, 3, 3, 9, 30))
    assert isinstance(raised.value.orig, NaiveDatetimeError)


def test_comparisons_follow_the_instant_not_the_offset(db_session: Session) -> None:
    """19:00+09:00 is 10:00 UTC: before 10:30 UTC, although '19:00' > '10:30' as text."""
    source_id = make_source(db_session)
    runs.start_run(db_session, source_id=source_id, now=datetime(2025, 3, 3, 19, 0, tzinfo=TOKYO))
    db_session.flush()

    before = select(CrawlRun.id).where(CrawlRun.started_at < datetime(2025, 3, 3, 9, 30, tzinfo=UTC))
    after = select(CrawlRun.id).where(CrawlRun.started_at < datetime(2025, 3, 3, 10, 30, tzinfo=UTC))
    assert db_session.scalars(before).all() == []
    assert len(db_session.scalars(after).all()) == 1
