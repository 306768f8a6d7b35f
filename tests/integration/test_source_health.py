"""Source-health alerts from the crawl ledger: one ops alert when a source goes dark, one when it recovers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import models
from storage.enums import AlertKind, CrawlRunStatus, JourneyStage
from vocwatch.stages import check_source_health

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(db_url)
    factory = storage.make_session_factory(engine)
    with factory.begin() as session:
        storage.catalog.sync_touchpoints(session, [("support", JourneyStage.GET_HELP, "")])
        for name in ("forum", "news"):
            storage.sources.upsert_source(
                session, name=name, kind="rss", config={}, default_touchpoint="support"
            )
    yield factory
    engine.dispose()


class Runs:
    """Appends crawl runs of one source, 30 minutes apart, like the scheduler would."""

    def __init__(self, sessions: sessionmaker[Session], name: str, start: datetime) -> None:
        self.sessions, self.name, self.at = sessions, name, start

    def add(self, status: CrawlRunStatus, *, count: int = 1) -> datetime:
        with self.sessions.begin() as session:
            source = storage.sources.get_source(session, self.name)
            assert source is not None
            for _ in range(count):
                self.at += timedelta(minutes=30)
                run = storage.runs.start_run(session, source_id=source.id, now=self.at)
                storage.runs.finish_run(
                    run,
                    now=self.at + timedelta(seconds=5),
                    status=status,
                    items_new=2 if status == CrawlRunStatus.OK else 0,
                    stop_reason=None if status == CrawlRunStatus.OK else "http_403",
                    error=None if status == CrawlRunStatus.OK else "403 Forbidden",
                )
        return self.at + timedelta(minutes=1)


def health_alerts(sessions: sessionmaker[Session]) -> list[models.Alert]:
    with sessions() as session:
        stmt = (
            select(models.Alert).where(models.Alert.kind == AlertKind.SOURCE_HEALTH).order_by(models.Alert.id)
        )
        return list(session.scalars(stmt))


def test_dark_source_alerts_once_and_recovery_once(sessions: sessionmaker[Session]) -> None:
    forum = Runs(sessions, "forum", NOW - timedelta(days=1))
    Runs(sessions, "news", NOW - timedelta(days=1)).add(CrawlRunStatus.OK, count=4)
    now = forum.add(CrawlRunStatus.OK, count=4)

    healthy = check_source_health(sessions, channel="#ops", now=now)
    assert (healthy.checked, healthy.alerted, healthy.recovered) == (2, 0, 0)
    assert health_alerts(sessions) == []

    now = forum.add(CrawlRunStatus.FAILED, count=3)
    went_dark = check_source_health(sessions, channel="#ops", now=now)
    assert went_dark.alerted == 1
    [dark] = health_alerts(sessions)
    assert dark.channel == "#ops"
    assert dark.dedup_key.endswith(":1:dark")
    assert dark.text.startswith("Source dark: `forum`")

    # Still dark, and then merely degraded (one good run, but a high error rate): nothing more.
    assert check_source_health(sessions, channel="#ops", now=now + timedelta(minutes=5)).alerted == 0
    now = forum.add(CrawlRunStatus.OK)
    assert check_source_health(sessions, channel="#ops", now=now) == check_source_health(
        sessions, channel="#ops", now=now
    )
    assert len(health_alerts(sessions)) == 1

    # Healthy again: one "recovered", and re-running the check sends nothing more.
    now = forum.add(CrawlRunStatus.OK, count=6)
    recovered = check_source_health(sessions, channel="#ops", now=now)
    assert recovered.recovered == 1
    assert check_source_health(sessions, channel="#ops", now=now + timedelta(minutes=5)).recovered == 0
    alerts = health_alerts(sessions)
    assert [a.dedup_key.split(":", 2)[2] for a in alerts] == ["1:dark", "2:ok"]
    assert alerts[1].text.startswith("Source recovered: `forum`")

    # A later outage is a new episode with its own alert.
    now = forum.add(CrawlRunStatus.FAILED, count=3)
    assert check_source_health(sessions, channel="#ops", now=now).alerted == 1
    assert [a.dedup_key.split(":", 2)[2] for a in health_alerts(sessions)] == ["1:dark", "2:ok", "3:dark"]


def test_only_the_named_sources_are_judged(sessions: sessionmaker[Session]) -> None:
    now = Runs(sessions, "forum", NOW - timedelta(days=1)).add(CrawlRunStatus.FAILED, count=3)
    assert check_source_health(sessions, channel="#ops", sources={"news"}, now=now).alerted == 0
    assert health_alerts(sessions) == []
    assert check_source_health(sessions, channel="#ops", sources={"forum"}, now=now).alerted == 1


def test_a_source_never_crawled_is_not_announced_dark(sessions: sessionmaker[Session]) -> None:
    totals = check_source_health(sessions, channel="#ops", now=NOW)
    assert totals.checked == 0
    assert health_alerts(sessions) == []


def test_a_source_whose_first_crawl_is_still_running_is_not_announced_dark(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        source = storage.sources.get_source(session, "forum")
        assert source is not None
        storage.runs.start_run(session, source_id=source.id, now=NOW - timedelta(seconds=2))

    totals = check_source_health(sessions, channel="#ops", now=NOW)

    assert (totals.checked, totals.alerted) == (0, 0)
    assert health_alerts(sessions) == []
