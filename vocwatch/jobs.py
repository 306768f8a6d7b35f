"""The pipeline stages as plain functions; the CLI and the scheduler call these and nothing else.

Each stage reads its input rows, writes its output rows and changes their state in ONE transaction, so
a crash at any point loses nothing and a rerun picks up where it stopped (DESIGN.md, "Flow").
This is also where model results become rows: storage never sees torch, sentiment never sees SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

import sentiment
import storage
from notifier.dispatcher import Dispatcher
from storage import models
from storage.enums import MentionStatus, SentimentLabel
from vocwatch.alerting import AlertRules, MentionFacts, alert_mention, refresh_incidents
from vocwatch.settings import Settings

__all__ = [
    "AlertRules",
    "DispatchTotals",
    "analysis_text",
    "analyze_pending",
    "dispatch_alerts",
    "refresh_incident_states",
    "sync_catalog",
    "to_analysis_row",
]


def sync_catalog(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Make the touchpoints, topics and sources tables match the config (rows are never deleted)."""
    with sessions.begin() as session:
        storage.catalog.sync_touchpoints(
            session, [(name, tp.stage, tp.description) for name, tp in settings.touchpoints.items()]
        )
        storage.catalog.sync_topics(
            session, [(name, topic.description, topic.touchpoint) for name, topic in settings.topics.items()]
        )
        for name, source in settings.sources.items():
            storage.sources.upsert_source(
                session,
                name=name,
                kind=source.kind,
                config=source.model_dump(mode="json", exclude={"kind", "touchpoint"}),
                default_touchpoint=source.touchpoint,
            )


def analysis_text(mention: models.Mention) -> str:
    """What the model reads: the title carries the story in news and forum posts, so it leads."""
    if mention.title and mention.title not in mention.text:
        return f"{mention.title}. {mention.text}"
    return mention.text


def to_analysis_row(mention: models.Mention, result: sentiment.Analysis) -> models.Analysis:
    return models.Analysis(
        mention_id=mention.id,
        model_version=result.model_version,
        label=SentimentLabel(result.label.value),
        p_negative=result.p_negative,
        p_neutral=result.p_neutral,
        p_positive=result.p_positive,
        confidence=result.confidence,
        lang=result.lang,
        churn_risk=result.churn_risk,
    )


def analyze_pending(
    sessions: sessionmaker[Session],
    analyzer: sentiment.Analyzer,
    rules: AlertRules,
    *,
    batch_size: int = 64,
    now: datetime | None = None,
) -> int:
    """Analyze one batch of new mentions; returns how many were analyzed (0 means the queue is empty).

    The analysis rows, the touchpoint, the outbox alert and the review case are committed together with
    the mention's status change: a crash leaves the batch `new`, to be claimed again.
    """
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        mentions = storage.mentions.claim_new(session, limit=batch_size)
        if not mentions:
            return 0
        results = analyzer.analyze([analysis_text(m) for m in mentions])
        for mention, result in zip(mentions, results, strict=True):
            session.add(to_analysis_row(mention, result))
            if mention.touchpoint_id is None:
                mention.touchpoint_id = mention.source.default_touchpoint_id
            mention.lang = mention.lang or result.lang
            mention.status = MentionStatus.ANALYZED
            _alert_if_negative(session, mention, result, rules, now=now)
        return len(mentions)


def _alert_if_negative(
    session: Session, mention: models.Mention, result: sentiment.Analysis, rules: AlertRules, *, now: datetime
) -> None:
    """Severity, routing, incident grouping and budget for one analysed mention (vocwatch.alerting)."""
    facts = MentionFacts(
        label=result.label.value,
        p_negative=result.p_negative,
        confidence=result.confidence,
        churn_risk=result.churn_risk,
        topics=tuple(topic.topic for topic in result.topics),
        lang=result.lang,
    )
    alert_mention(session, mention, facts, rules, quote=analysis_text(mention), now=now)


def refresh_incident_states(
    sessions: sessionmaker[Session], rules: AlertRules, *, now: datetime | None = None
) -> int:
    """Periodic job: incidents without new mentions turn quiet, then resolved; their parent is updated."""
    with sessions.begin() as session:
        return refresh_incidents(session, rules, now=now or datetime.now(UTC))


@dataclass(frozen=True)
class DispatchTotals:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def dispatch_alerts(dispatcher: Dispatcher, *, batch_size: int = 50) -> DispatchTotals:
    """Reconcile alerts a crash left in `sending`, then post due alerts batch by batch until none is due.

    It stops early when a batch makes no progress (everything rate limited or failing), so a Slack
    outage never spins the loop: those alerts stay in the outbox with their next attempt time.
    """
    dispatcher.reconcile_sending()
    sent = retrying = failed = 0
    while True:
        result = dispatcher.dispatch_due(limit=batch_size)
        sent, failed = sent + result.sent, failed + result.failed
        retrying += result.retried + result.rate_limited
        if result.claimed < batch_size or result.sent == 0:
            return DispatchTotals(sent=sent, retrying=retrying, failed=failed)
