"""Fixtures of the incident and budget tests, prefixed `alert_` so that no other fixture is shadowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier.dispatcher import Dispatcher
from storage.enums import JourneyStage
from storage.models import Source, Touchpoint
from tests.support.alerting import Clock


@pytest.fixture
def alert_sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(db_url)
    factory = storage.make_session_factory(engine)
    with factory.begin() as session:
        session.add(Source(name="forum", kind="rss"))
        session.add(Touchpoint(name="delivery", stage=JourneyStage.RECEIVE))
    try:
        yield factory
    finally:
        engine.dispose()


@pytest.fixture
def alert_clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def alert_dispatcher(
    slack_client: WebClient, alert_sessions: sessionmaker[Session], alert_clock: Clock
) -> Dispatcher:
    return Dispatcher(slack_client, alert_sessions, clock=alert_clock)
