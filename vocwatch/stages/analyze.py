"""The analysis stage: new mentions in, analyses + touchpoint + alerts + review cases out.

It reads a batch of `new` mentions, runs the model with no transaction open, then commits the results
with the mentions' status change in ONE transaction, so a crash loses nothing and a rerun picks up where
it stopped (DESIGN.md, "Flow"). This is also where model results become rows: storage never sees torch,
sentiment never sees SQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import sentiment
import storage
from storage import models
from storage.enums import MentionStatus, SentimentLabel, TouchpointOrigin
from vocwatch.stages.alerting import AlertRules, MentionFacts, alert_mention

__all__ = [
    "LeasedBatch",
    "analysis_text",
    "analyze_leased",
    "analyze_pending",
    "place_mention",
    "retouch",
    "to_analysis_row",
    "topic_touchpoint",
]

logger = logging.getLogger(__name__)


def analysis_text(mention: models.Mention) -> str:
    """What the model reads of `mention` (`storage.mentions.analysis_text`)."""
    return storage.mentions.analysis_text(mention.title, mention.text)


def to_analysis_row(mention: models.Mention, result: sentiment.Analysis) -> models.Analysis:
    """The stored copy of one result (its topics are rows of their own, see `_store_topics`)."""
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
        reliable=result.reliable,
        flags=list(result.flags),
        taxonomy_version=result.taxonomy_version,
    )


def analyze_pending(
    sessions: sessionmaker[Session],
    analyzer: sentiment.Analyzer,
    rules: AlertRules,
    *,
    batch_size: int = 64,
    now: datetime | None = None,
) -> int:
    """Analyze one batch of new mentions; returns how many were read (0 means the queue is empty).

    The batch is read in a read-only transaction and the model runs with no transaction open (on SQLite a
    writing transaction is the database's write lock, and the crawl and the dispatcher must write
    meanwhile). The analysis rows, the touchpoint, the outbox alert and the review case are then
    committed together with the status change of the mentions still `new`: a crash leaves the batch
    `new`, to be read again; a mention analyzed meanwhile elsewhere is not analyzed twice.
    """
    with storage.engine.read_only(sessions) as session:
        new = storage.mentions.list_new(session, limit=batch_size, now=now or datetime.now(UTC))
        texts = {mention.id: analysis_text(mention) for mention in new}
    if not texts:
        return 0
    results = dict(zip(texts, analyzer.analyze(list(texts.values())), strict=True))
    with sessions.begin() as session:
        mentions = storage.mentions.lock_new(session, mention_ids=list(texts))
        _store_results(
            session, mentions, [results[m.id] for m in mentions], rules, now=now or datetime.now(UTC)
        )
    return len(texts)


@dataclass(frozen=True)
class LeasedBatch:
    """What one `analyze_leased` call did: `claimed` mentions, of which `stored` were still ours to store
    (the rest had lost their lease to another worker, which stores them instead)."""

    claimed: int = 0
    stored: int = 0


def analyze_leased(
    sessions: sessionmaker[Session],
    analyzer: sentiment.Analyzer,
    rules: AlertRules,
    *,
    worker: str,
    lease: timedelta,
    batch_size: int = 64,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> LeasedBatch:
    """One batch for a scale-out analysis worker (`vocwatch worker analyze`): claim, analyze, store.

    Unlike `analyze_pending`, the claim is committed first and the model runs outside any transaction, so
    N workers analyze in parallel without holding row locks; a worker killed mid-batch leaves its claim to
    expire, and another worker analyzes those mentions once. Results are stored only for the mentions
    still claimed by `worker` (storage.mentions.lock_own_claims): no mention is ever analyzed twice.
    """
    with sessions.begin() as session:
        claimed = storage.mentions.claim_with_lease(
            session, worker=worker, limit=batch_size, now=clock(), lease=lease
        )
        texts = {mention.id: analysis_text(mention) for mention in claimed}
    if not texts:
        return LeasedBatch()
    with _renewing_leases(sessions, worker=worker, mention_ids=list(texts), lease=lease, clock=clock):
        results = dict(zip(texts, analyzer.analyze(list(texts.values())), strict=True))
    with sessions.begin() as session:
        mentions = storage.mentions.lock_own_claims(session, worker=worker, mention_ids=list(texts))
        _store_results(session, mentions, [results[m.id] for m in mentions], rules, now=clock())
        return LeasedBatch(claimed=len(texts), stored=len(mentions))


@contextmanager
def _renewing_leases(
    sessions: sessionmaker[Session],
    *,
    worker: str,
    mention_ids: list[int],
    lease: timedelta,
    clock: Callable[[], datetime],
) -> Iterator[None]:
    """Renew the batch's leases every third of a lease while the body runs (a thread of this worker)."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease.total_seconds() / 3):
            try:
                with sessions.begin() as session:
                    storage.mentions.renew_leases(
                        session, worker=worker, mention_ids=mention_ids, until=clock() + lease
                    )
            except DBAPIError as exc:  # the database is away for a moment: try again at the next tick
                logger.warning("could not renew leases: %s", storage.engine.describe_error(exc))

    renewer = threading.Thread(target=renew, name="lease-renewer", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def _store_results(
    session: Session,
    mentions: Sequence[models.Mention],
    results: Sequence[sentiment.Analysis],
    rules: AlertRules,
    *,
    now: datetime,
) -> None:
    """A batch's analysis rows, topics, touchpoint, outbox alert and review case, with its status change."""
    rules_by_topic = storage.catalog.topic_rules(session)
    for mention, result in zip(mentions, results, strict=True):
        session.add(to_analysis_row(mention, result))
        _store_topics(session, mention, result, rules_by_topic)
        place_mention(mention, [topic.topic for topic in result.topics], rules_by_topic)
        mention.lang = mention.lang or result.lang
        mention.status = MentionStatus.ANALYZED
        mention.lease_expires_at = None
        _alert_if_negative(session, mention, result, rules, now=now)


def topic_touchpoint(topics: Sequence[str], rules: Mapping[str, storage.catalog.TopicRule]) -> int | None:
    """The touchpoint of the strongest topic that has a touchpoint rule (`topics`: strongest first)."""
    for topic in topics:
        rule = rules.get(topic)
        if rule is not None and rule.touchpoint_id is not None:
            return rule.touchpoint_id
    return None


_KEPT_ORIGINS = frozenset({TouchpointOrigin.ASSIGNED, TouchpointOrigin.CORRECTION})


def place_mention(
    mention: models.Mention, topics: Sequence[str], rules: Mapping[str, storage.catalog.TopicRule]
) -> bool:
    """Put the mention at its strongest ruled topic's touchpoint, where its origin lets it; True if moved.

    Where in the journey a post happened is read from what it says: a review site's default touchpoint says
    little, "the courier lost it" says delivery. So a `default` placement gives way to a topic rule; a
    `topic` placement whose topic is gone (a re-analysis, a changed rule) returns to the source's default;
    what the item itself named (`assigned`) or CX staff corrected (`correction`) never moves.
    """
    if mention.touchpoint_origin in _KEPT_ORIGINS:
        return False
    ruled = topic_touchpoint(topics, rules)
    target: tuple[int | None, TouchpointOrigin]
    if ruled is not None:
        target = (ruled, TouchpointOrigin.TOPIC)
    elif mention.touchpoint_origin == TouchpointOrigin.TOPIC:
        target = (mention.source.default_touchpoint_id, TouchpointOrigin.DEFAULT)
    else:
        return False
    if target == (mention.touchpoint_id, mention.touchpoint_origin):
        return False
    mention.touchpoint_id, mention.touchpoint_origin = target
    return True


def retouch(sessions: sessionmaker[Session], *, batch_size: int = 1000) -> tuple[int, int]:
    """Apply the topic rules in the catalog to every analyzed mention; returns (read, moved).

    For databases analyzed before touchpoint rules applied, and after an operator changes a rule: the
    stored topics of each mention (mention_topics, strongest first) decide, as analysis would. One
    transaction per batch, so it can be stopped and rerun at any point.
    """
    read = moved = 0
    after = 0
    while True:
        with sessions.begin() as session:
            rules = storage.catalog.topic_rules(session)
            mentions = storage.mentions.placeable_after(session, after, limit=batch_size)
            if not mentions:
                return read, moved
            topics = storage.mentions.ranked_topics(session, [m.id for m in mentions])
            for mention in mentions:
                moved += place_mention(mention, topics.get(mention.id, []), rules)
            read += len(mentions)
            after = mentions[-1].id


def _store_topics(
    session: Session,
    mention: models.Mention,
    result: sentiment.Analysis,
    rules: Mapping[str, storage.catalog.TopicRule],
) -> None:
    """One mention_topics row per tagged topic, with its aspect sentiment; a re-analysis replaces them.

    Topics the catalog does not know (a taxonomy changed without `sync_catalog`) are skipped, not guessed.
    """
    for topic in result.topics:
        rule = rules.get(topic.topic)
        if rule is None:
            continue
        session.merge(
            models.MentionTopic(
                mention_id=mention.id,
                topic_id=rule.topic_id,
                score=topic.score,
                label=SentimentLabel(topic.label.value) if topic.label is not None else None,
            )
        )


def _alert_if_negative(
    session: Session, mention: models.Mention, result: sentiment.Analysis, rules: AlertRules, *, now: datetime
) -> None:
    """Severity, routing, incident grouping and budget for one analysed mention (vocwatch.stages.alerting)."""
    facts = MentionFacts(
        label=result.label.value,
        p_negative=result.p_negative,
        confidence=result.confidence,
        churn_risk=result.churn_risk,
        topics=tuple(topic.topic for topic in result.topics),
        lang=result.lang,
        reliable=result.reliable,
        embedding=result.embedding,
    )
    alert_mention(session, mention, facts, rules, quote=analysis_text(mention), now=now)
