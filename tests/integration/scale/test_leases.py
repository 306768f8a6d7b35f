"""Claim leases on both backends: disjoint claims, takeover after expiry, and no second write by a loser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import models
from storage.mentions import claim_with_lease, count_new, lock_own_claims
from tests.support.scaleout import seed_mentions

LEASE = timedelta(seconds=60)
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(db_url)
    yield storage.make_session_factory(engine)
    engine.dispose()


def test_claims_are_disjoint_and_an_expired_lease_is_taken_over_once(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    seed_mentions(db_url, 10)
    with sessions.begin() as session:
        first = [m.id for m in claim_with_lease(session, worker="a", limit=4, now=T0, lease=LEASE)]
    with sessions.begin() as session:
        second = [m.id for m in claim_with_lease(session, worker="b", limit=100, now=T0, lease=LEASE)]
    assert len(first) == 4 and len(second) == 6
    assert not set(first) & set(second)

    # Before the lease runs out nobody else gets a's mentions; after it, c takes them over.
    with sessions.begin() as session:
        assert claim_with_lease(session, worker="c", limit=100, now=T0 + LEASE / 2, lease=LEASE) == []
    with sessions.begin() as session:
        taken = claim_with_lease(session, worker="c", limit=100, now=T0 + 2 * LEASE, lease=LEASE)
        assert sorted(m.id for m in taken) == sorted(first + second)

    # a comes back late: none of its mentions are still its own, so it stores nothing.
    with sessions.begin() as session:
        assert lock_own_claims(session, worker="a", mention_ids=first) == []
        own = lock_own_claims(session, worker="c", mention_ids=first)
        assert [m.id for m in own] == sorted(first)
        for mention in own:
            mention.status = storage.MentionStatus.ANALYZED
    with sessions() as session:
        assert count_new(session) == 6
        statuses = {
            row.id: row.status for row in session.execute(select(models.Mention.id, models.Mention.status))
        }
        assert {statuses[i] for i in first} == {storage.MentionStatus.ANALYZED}
