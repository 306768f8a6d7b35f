"""Spike alerts on a migrated database: one alert per episode, a new one only after the episode ended; no
alert before a key has a history; one message per check, within the channel's budget, naming its incident."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier.budget import BudgetLimits
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


def watched_since(sessions: sessionmaker[Session], when: datetime) -> None:
    """An install that has watched these touchpoints and topics since `when` (as its spike checks record)."""
    with sessions.begin() as session:
        for key in ("touchpoint:delivery", "touchpoint:support", "topic:couriers"):
            session.add(models.SpikeKey(key=key, first_seen_at=when))


def quiet_baseline(sessions: sessionmaker[Session], end: datetime) -> None:
    """12 hours of ordinary traffic before `end`: 1 negative and 9 others an hour."""
    for hour in range(1, 13):
        add_mentions(sessions, end - timedelta(hours=hour, minutes=-30), negative=1, other=9)


def burst_after_a_quiet_baseline(sessions: sessionmaker[Session], now: datetime) -> None:
    """A quiet 12-hour baseline, then 15 negatives (and 5 others) in the hour before `now`: a spike."""
    quiet_baseline(sessions, now - timedelta(hours=1))
    add_mentions(sessions, now - timedelta(minutes=30), negative=15, other=5)


def test_a_burst_sends_one_spike_alert_per_episode_and_a_later_burst_another(
    sessions: sessionmaker[Session],
) -> None:
    watched_since(sessions, NOW - timedelta(days=30))
    burst_after_a_quiet_baseline(sessions, NOW)

    first = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW)

    # The touchpoint and the topic both spiked: two episodes, ONE message naming both.
    assert first.opened == 2
    alerts = spike_alerts(sessions)
    assert len(alerts) == 1
    (alert,) = alerts
    assert alert.channel == "#pr" and alert.status == storage.AlertStatus.PENDING
    assert "touchpoint delivery" in alert.text and "topic couriers" in alert.text
    assert "15 negatives in the last 1h" in alert.text
    quotes = [b["text"]["text"] for b in alert.blocks if b["type"] == "section" and "text" in b]
    assert sum(q.startswith(">mention number") for q in quotes) == 4  # two example quotes per spike
    with sessions() as session:
        episodes = session.scalars(select(models.SpikeEpisode)).all()
        assert {e.alert_dedup_key for e in episodes} == {alert.dedup_key}

    # The pile-on goes on: later checks extend the episode but send nothing.
    for minutes in (5, 10, 20):
        add_mentions(sessions, NOW + timedelta(minutes=minutes - 1), negative=3, other=0)
        again = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW + timedelta(minutes=minutes))
        assert again.opened == 0
        assert again.ongoing == 2
    assert len(spike_alerts(sessions)) == 1

    # A whole quiet hour ends the episode, without an alert.
    ended = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW + timedelta(hours=2))
    assert ended.ended == 2
    assert len(spike_alerts(sessions)) == 1

    # A new burst after that is a new episode for both keys: one more message.
    later = NOW + timedelta(hours=3)
    add_mentions(sessions, later - timedelta(minutes=10), negative=25, other=0)
    assert check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=later).opened == 2
    assert len(spike_alerts(sessions)) == 2


def test_ordinary_traffic_and_a_small_rise_send_nothing(sessions: sessionmaker[Session]) -> None:
    watched_since(sessions, NOW - timedelta(days=30))
    quiet_baseline(sessions, NOW - timedelta(hours=1))
    add_mentions(sessions, NOW - timedelta(minutes=30), negative=3, other=7)

    totals = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW)

    assert totals.checked == 2
    assert totals.opened == 0
    assert spike_alerts(sessions) == []


def test_a_fresh_install_judges_no_key_before_the_minimum_history(sessions: sessionmaker[Session]) -> None:
    # The first crawls bring a backlog: everything is "new", against baselines of nothing.
    add_mentions(sessions, NOW - timedelta(minutes=30), negative=30, other=0)

    first = check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW)

    assert (first.opened, first.checked, first.warming) == (0, 0, 2)
    assert spike_alerts(sessions) == []
    # Three days later the keys have a history; a burst against a quiet baseline alerts.
    later = NOW + timedelta(days=3)
    burst_after_a_quiet_baseline(sessions, later)
    assert check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=later).opened == 2
    assert len(spike_alerts(sessions)) == 1


def test_the_spike_message_is_a_ping_within_the_channel_budget(sessions: sessionmaker[Session]) -> None:
    watched_since(sessions, NOW - timedelta(days=30))
    burst_after_a_quiet_baseline(sessions, NOW)
    with sessions.begin() as session:  # the channel already had its two pings this hour
        for n in range(2):
            storage.alerts.enqueue_alert(
                session,
                kind=AlertKind.MENTION,
                dedup_key=f"ping{n}",
                channel="#pr",
                text="x",
                blocks=[],
                now=NOW,
            )

    totals = check_spikes(
        sessions, rules=[HOUR_RULE], channel="#pr", budget=BudgetLimits(per_hour=2, per_day=50), now=NOW
    )

    assert (totals.opened, totals.held_back) == (2, 1)
    (alert,) = spike_alerts(sessions)
    assert alert.status == storage.AlertStatus.SUPPRESSED
    assert alert.last_error == "budget: 2 pings per hour reached"
    # The episodes are open all the same: the spike does not alert again on the next check.
    assert (
        check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW + timedelta(minutes=5)).opened == 0
    )


def test_a_spike_names_the_open_incident_of_its_key(sessions: sessionmaker[Session]) -> None:
    watched_since(sessions, NOW - timedelta(days=30))
    burst_after_a_quiet_baseline(sessions, NOW)
    with sessions.begin() as session:
        first_mention = session.scalars(select(models.Mention.id).order_by(models.Mention.id)).first()
        assert first_mention is not None
        incident = storage.incidents.create_incident(
            session,
            key="topic:couriers",
            channel="#cx",
            mention_id=first_mention,
            touchpoint_id=None,
            state="growing",
            stats={"topic": "couriers", "topics": ["couriers"], "count": 9},
            now=NOW,
        )
        storage.incidents.mark_parent_sent(
            session, incident.id, ts="1700000000.000100", channel_id="C0CX00001"
        )

    check_spikes(sessions, rules=[HOUR_RULE], channel="#pr", now=NOW)

    (alert,) = spike_alerts(sessions)
    linked = [b for b in alert.blocks if b["type"] == "context"]
    assert len(linked) == 1  # the topic's incident; the touchpoint has none
    assert f"incident #{incident.id}" in linked[0]["elements"][0]["text"]
    assert "https://slack.com/archives/C0CX00001/p1700000000000100" in linked[0]["elements"][0]["text"]
