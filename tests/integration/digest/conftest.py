"""Fixtures of the digest tests: the hand-built dataset in a fresh database of each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier.digest import WeeklyDigest
from tests.support.digest_dataset import SETTINGS, WEEK, build_dataset
from vocwatch.stages.digest import compose_digest


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fresh database of the current backend holding the hand-built dataset."""
    engine = storage.make_engine(db_url)
    factory = storage.make_session_factory(engine)
    with factory.begin() as session:
        build_dataset(session)
    yield factory
    engine.dispose()


@pytest.fixture
def digest(sessions: sessionmaker[Session]) -> WeeklyDigest:
    built, _ = compose_digest(sessions, WEEK, SETTINGS)
    return built
