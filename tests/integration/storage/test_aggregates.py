from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from storage import alerts, catalog, mentions, sources
from storage.aggregates import TouchpointSummary, touchpoint_summary
from storage.enums import AlertKind, JourneyStage, SentimentLabel
from storage.models import Alert, Analysis, Incident
from tests.support.storage_rows import T0, new_mention


def analyse(session: Session, mention_id: int, label: SentimentLabel, model_version: str = "v1") -> None:
    p = {SentimentLabel.NEGATIVE: 0.0, SentimentLabel.NEUTRAL: 0.0, SentimentLabel.POSITIVE: 0.0, label: 1.0}
    session.add(
        Analysis(
            mention_id=mention_id,
            model_version=model_version,
            label=label,
            p_negative=p[SentimentLabel.NEGATIVE],
            p_neutral=p[SentimentLabel.NEUTRAL],
            p_positive=p[SentimentLabel.POSITIVE],
            confidence=1.0,
        )
    )
    session.flush()


def alert(
    session: Session, key: str, *, mention_id: int | None = None, incident_id: int | None = None
) -> Alert:
    alert_id = alerts.enqueue_alert(
        session,
        kind=AlertKind.MENTION,
        dedup_key=key,
        channel="#cx",
        text=key,
        blocks=[],
        mention_id=mention_id,
        now=T0,
    )
    row = session.get_one(Alert, alert_id)
    row.incident_id = incident_id
    return row


@pytest.fixture
def dataset(db_session: Session) -> Session:
    """delivery: 4 mentions (2 negative, 1 positive, 1 not analyzed), 2 alerts sent; checkout: 1 neutral."""
    catalog.sync_touchpoints(
        db_session,
        [
            ("delivery", JourneyStage.RECEIVE, ""),
            ("checkout", JourneyStage.BUY, ""),
            ("support chat", JourneyStage.GET_HELP, ""),
        ],
    )
    delivery, checkout = (catalog.get_touchpoint_id(db_session, n) for n in ("delivery", "checkout"))
    source = sources.upsert_source(db_session, name="news", kind="rss", config={}, default_touchpoint=None).id
    ids = mentions.insert_new_mentions(
        db_session,
        [
            new_mention(source, "late", touchpoint_id=delivery),
            new_mention(source, "broken", touchpoint_id=delivery),
            new_mention(source, "fast", touchpoint_id=delivery),
            new_mention(source, "queued", touchpoint_id=delivery),
            new_mention(source, "paid", touchpoint_id=checkout),
            new_mention(source, "nowhere"),  # no touchpoint: in no row
        ],
    ).new_ids
    late, broken, fast, _queued, paid, nowhere = ids
    analyse(db_session, late, SentimentLabel.NEGATIVE)
    analyse(db_session, broken, SentimentLabel.POSITIVE, "v1")
    analyse(db_session, broken, SentimentLabel.NEGATIVE, "v2")  # the latest analysis wins
    analyse(db_session, fast, SentimentLabel.POSITIVE)
    analyse(db_session, paid, SentimentLabel.NEUTRAL)
    analyse(db_session, nowhere, SentimentLabel.NEGATIVE)

    incident = Incident(
        key="delivery", touchpoint_id=delivery, channel="#cx", opened_at=T0, last_mention_at=T0
    )
    db_session.add(incident)
    db_session.flush()
    alerts.mark_sent(alert(db_session, "mention:late", mention_id=late), ts="1.1", channel_id="C1", now=T0)
    alerts.mark_sent(
        alert(db_session, "incident:1", incident_id=incident.id), ts="1.2", channel_id="C1", now=T0
    )
    alert(db_session, "mention:broken", mention_id=broken)  # still pending: not sent
    alerts.mark_failed(alert(db_session, "mention:paid", mention_id=paid), error="channel_not_found")
    alerts.mark_sent(
        alert(db_session, "mention:nowhere", mention_id=nowhere), ts="1.3", channel_id="C1", now=T0
    )
    db_session.flush()
    return db_session


def test_summary_counts_per_touchpoint_in_journey_order(dataset: Session) -> None:
    assert touchpoint_summary(dataset) == [
        TouchpointSummary(
            "checkout", JourneyStage.BUY, mentions=1, negative=0, neutral=1, positive=0, alerts_sent=0
        ),
        TouchpointSummary(
            "delivery", JourneyStage.RECEIVE, mentions=4, negative=2, neutral=0, positive=1, alerts_sent=2
        ),
        TouchpointSummary(
            "support chat",
            JourneyStage.GET_HELP,
            mentions=0,
            negative=0,
            neutral=0,
            positive=0,
            alerts_sent=0,
        ),
    ]


def test_share_negative_is_of_analyzed_mentions(dataset: Session) -> None:
    checkout, delivery, support = touchpoint_summary(dataset)
    assert delivery.share_negative == pytest.approx(2 / 3)
    assert checkout.share_negative == 0.0
    assert support.share_negative is None


def test_since_leaves_out_older_mentions_and_alerts(dataset: Session) -> None:
    assert all(
        (row.mentions, row.alerts_sent) == (0, 0)
        for row in touchpoint_summary(dataset, since=T0 + timedelta(days=1))
    )
