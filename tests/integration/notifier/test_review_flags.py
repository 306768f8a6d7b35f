"""Doubt goes to people, certainty to Slack: which analysed mentions open a review case, with or without
an alert. Real alert path on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifier.policy import ReviewThresholds
from storage.models import Alert, Case
from tests.support.alerting import Clock, add_mention
from vocwatch.stages.alerting import AlertRules, MentionFacts, alert_mention

RULES = AlertRules(
    0.7,
    "#cx-alerts",
    review=ReviewThresholds(negative_threshold=0.7, review_min_p_negative=0.4, churn_at=0.5),
)


def flag(sessions: sessionmaker[Session], clock: Clock, text: str, facts: MentionFacts) -> tuple[int, int]:
    """Run the alert path for a new mention; returns (outbox rows written, mention id)."""
    with sessions.begin() as session:
        mention = add_mention(session, text=text)
        written = alert_mention(session, mention, facts, RULES, quote=text, now=clock())
        return written, mention.id


def queue(sessions: sessionmaker[Session]) -> dict[int, str]:
    with sessions.begin() as session:
        return {case.mention_id: case.reason for case in session.scalars(select(Case))}


def alerted(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return len(session.scalars(select(Alert)).all())


def test_a_confident_negative_is_alerted_and_queued(
    alert_sessions: sessionmaker[Session], alert_clock: Clock
) -> None:
    facts = MentionFacts(label="negative", p_negative=0.93, confidence=0.93)
    written, mention_id = flag(alert_sessions, alert_clock, "parcel never came, third time", facts)
    assert written == 1
    assert queue(alert_sessions) == {mention_id: "negative"}


def test_doubtful_mentions_are_queued_without_any_slack_alert(
    alert_sessions: sessionmaker[Session], alert_clock: Clock
) -> None:
    low = MentionFacts(label="negative", p_negative=0.55, confidence=0.55)
    weak = MentionFacts(label="negative", p_negative=0.95, confidence=0.95, reliable=False)
    churn = MentionFacts(label="neutral", p_negative=0.2, confidence=0.7, churn_risk=0.8)
    fine = MentionFacts(label="positive", p_negative=0.03, confidence=0.95, churn_risk=0.1)
    results = [
        flag(alert_sessions, alert_clock, text, facts)
        for text, facts in (
            ("meh, took a while", low),
            ("🙃🙃🙃", weak),
            ("cancelling my plan next month", churn),
            ("love it", fine),
        )
    ]
    assert [written for written, _ in results] == [0, 0, 0, 0]
    ids = [mention_id for _, mention_id in results]
    assert queue(alert_sessions) == {ids[0]: "low_confidence", ids[1]: "unreliable", ids[2]: "churn_risk"}
    assert alerted(alert_sessions) == 0
