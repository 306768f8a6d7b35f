"""Spike alerts on a migrated database: one alert per episode, a new one only after the episode ended."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier.spikes import SpikeRule
from storage import models
from storage.enums import AlertKind, JourneyStage, MentionStatus, SentimentLabel
from vocwatch.stages import check_spikes

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR_RULE = SpikeRule(name="1h", window=timedelta(hours=1), baseline_bins=12)
_ids = itertools.count()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(db_url)
    factory = storage.make_session_factory(engine)
    with factory.begin() as session:
        storage.catalog.sync_touchpoints(
            session, [("delivery", JourneyStage.RECEIVE, ""), ("support", JourneyStage.GET_HELP, "")]
        )
        storage.catalog.sync_topics(session, [("couriers", "Couriers", "delivery")])
        storage.sources.upsert_source(
            session, name="forum", kind="rss", config={}, default_touchpoint="delivery"
        )
    yield factory
    engine.dispose()


def add_mentions(
    sessions: sessionmaker[Session], at: datetime, *, negative: int, other: int, touchpoint: str = "delivery"
) -> None:
    """Analyzed mentions published at `at`, each with a unique text (so none is a cross-post copy)."""
    with sessions.begin() as session:
        source = storage.sources.get_source(session, "forum")
        assert source is not None
        touchpoint_id = storage.catalog.get_touchpoint_id(session, touchpoint)
        topic_id = session.scalar(select(models.Topic.id).where(models.Topic.name == "couriers"))
        labels = [SentimentLabel.NEGATIVE] * negative + [SentimentLabel.POSITIVE] * other
        for label in labels:
            n = next(_ids)
            mention = models.Mention(
                source_id=source.id,
                external_id=f"m{n}",
                url=f"https://forum.example/{n}",
                text=f"mention number {n}",
                published_at=at,
                collected_at=at,
                content_hash=f"{n:064d}",
                touchpoint_id=touchpoint_id,
                status=MentionStatus.ANALYZED,
            )
            session.add(mention)
            session.flush()
            p_neg = 0.9 if label == SentimentLabel.NEGATIVE else 0.05
            session.add(
                models.Analysis(
                    mention_id=mention.id,
                    model_version="test",
                    label=label,
                    p_negative=p_neg,
                    p_neutral=0.05,
                    p_positive=1 - p_neg - 0.05,
                    confidence=0.9,
                )
            )
            session.add(models.MentionTopic(mention_id=mention.id, topic_id=topic_id, score=0.8, label=None))


def spike_alerts(sessions: sessionmaker[Session]) -> list[models.Alert]:
    with sessions() as session:
        return list(
            session.scalars(
                select(models.Alert).where(models.Alert.kind == AlertKind.SPIKE).order_by(models.Alert.id)
            )
        )


def quiet_baseline(sessions: sessionmaker[Session], end: datetime) -> None:
    """12 hours of ordinary traffic before `end`: 1 negative and 9 others an hour."""
    for hour in range(1, 13):
        add_mentions(sessions, end - timedelta(hours=hour, minutes=-30), negative=1, other=9)


def test_a_burst_sends_one_spike_alert_per_episode_and_a_later_burst_another(
    sessions: sessionmaker[Session],
) -> None:
    start = NOW - timedelta(hours=1)
    quiet_baseline(sessions, start)
    add_mentions(sessions, NOW - timedelta(minutes=30), negative=15, other=5)

    first = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW)

    # The touchpoint and the topic both spiked: one alert each, nothing for the quiet touchpoint.
    assert first.opened == 2
    alerts = spike_alerts(sessions)
    assert sorted(a.dedup_key for a in alerts) == [
        "spike:topic:couriers:1h:20261123T120000",
        "spike:touchpoint:delivery:1h:20261123T120000",
    ]
    assert all(a.channel == "#pr" and a.status == storage.AlertStatus.PENDING for a in alerts)
    assert "15 negatives in the last 1h" in alerts[0].text
    quotes = [b["text"]["text"] for b in alerts[0].blocks if b["type"] == "section" and "text" in b]
    assert sum(q.startswith(">mention number") for q in quotes) == 3  # example quotes from the burst

    # The pile-on goes on: later checks extend the episode but send nothing.
    for minutes in (5, 10, 20):
        add_mentions(sessions, NOW + timedelta(minutes=minutes - 1), negative=3, other=0)
        again = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW + timedelta(minutes=minutes))
        assert again.opened == 0
        assert again.ongoing == 2
    assert len(spike_alerts(sessions)) == 2

    # A whole quiet hour ends the episode, without an alert.
    ended = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW + timedelta(hours=2))
    assert ended.ended == 2
    assert len(spike_alerts(sessions)) == 2

    # A new burst after that is a new episode: one more alert per key.
    later = NOW + timedelta(hours=3)
    add_mentions(sessions, later - timedelta(minutes=10), negative=25, other=0)
    assert check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=later).opened == 2
    assert len(spike_alerts(sessions)) == 4


def test_ordinary_traffic_and_a_small_rise_send_nothing(sessions: sessionmaker[Session]) -> None:
    quiet_baseline(sessions, NOW - timedelta(hours=1))
    add_mentions(sessions, NOW - timedelta(minutes=30), negative=3, other=7)

    totals = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW)

    assert totals.checked == 2
    assert totals.opened == 0
    assert spike_alerts(sessions) == []
