"""Queries of the weekly digest and its outbox record (one `digests` row per week and channel, plus one
per partial preview: the `edition` column keeps previews apart from the week's complete digest).

Every aggregate is computed by the database over an indexed time range and comes back as a few hundred
grouped rows at most, whatever the number of mentions: the digest never loads mentions one by one.
A mention belongs to the week of its publication time (its arrival time when the source gave none);
cross-posted copies (`duplicate_of_id` set) are not counted again, and a re-analyzed mention counts
with its latest analysis only.

Weeks are passed as a list of contiguous `(start, end)` ranges, newest first; results carry the
position in that list as the week offset (0 = the digest's week).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.enums import AlertStatus, DigestStatus, SentimentLabel
from storage.models import (
    Alert,
    Analysis,
    CrawlRun,
    Digest,
    Incident,
    Mention,
    MentionTopic,
    Source,
    SurveyResponse,
    Topic,
    Touchpoint,
)
from storage.models.digests import FINAL_EDITION

__all__ = [
    "FINAL_EDITION",
    "Weeks",
    "begin_snapshot",
    "count_held_back",
    "count_versions",
    "get_digest_for_update",
    "heard_before",
    "is_digest_done",
    "list_journey",
    "list_quotes",
    "list_runs_between",
    "list_week_incidents",
    "mark_digest_error",
    "mark_digest_posted",
    "mark_digest_sent",
    "mark_digest_skipped",
    "partial_edition",
    "sentiment_cells",
    "survey_cells",
    "taxonomy_version",
    "topic_cells",
]

Weeks = Sequence[tuple[datetime, datetime]]

_NEGATIVE = SentimentLabel.NEGATIVE


def begin_snapshot(session: Session) -> None:
    """Make the session's reads one consistent snapshot, so the digest's queries agree with each other
    while the pipeline keeps writing. Call before any other statement of the transaction.

    PostgreSQL's default (READ COMMITTED) gives each statement its own snapshot; REPEATABLE READ READ
    ONLY gives the whole transaction one. A SQLite transaction reads one snapshot already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


def _mention_time_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Published in [start, end), or arrived then when the source gave no publication time.

    Written as two ranges (not a range over COALESCE) so the database can use the mentions' time
    indexes.
    """
    return or_(
        and_(Mention.published_at >= start, Mention.published_at < end),
        and_(Mention.published_at.is_(None), Mention.collected_at >= start, Mention.collected_at < end),
    )


def _week_offset(column: Any, weeks: Weeks) -> Any:
    """CASE mapping a time to its week's position (weeks are contiguous, newest first)."""
    return case(*((column >= start, offset) for offset, (start, _) in enumerate(weeks)), else_=None)


def _latest_analysis_id() -> Any:
    """The mention's latest analysis (highest id), found through the (mention_id, ...) unique index."""
    return (
        select(func.max(Analysis.id))
        .where(Analysis.mention_id == Mention.id)
        .correlate(Mention)
        .scalar_subquery()
    )


def _counted_mentions(weeks: Weeks) -> ColumnElement[bool]:
    return and_(_mention_time_in(weeks[-1][0], weeks[0][1]), Mention.duplicate_of_id.is_(None))


def sentiment_cells(
    session: Session, weeks: Weeks, *, churn_threshold: float
) -> list[tuple[int, str | None, str, str | None, int, int]]:
    """(week offset, touchpoint, source, label or None if not analyzed, mentions, churn-risk mentions)."""
    when = func.coalesce(Mention.published_at, Mention.collected_at)
    offset = _week_offset(when, weeks).label("week_offset")
    churn = func.sum(case((Analysis.churn_risk >= churn_threshold, 1), else_=0))
    stmt = (
        select(offset, Touchpoint.name, Source.name, Analysis.label, func.count(), churn)
        .select_from(Mention)
        .join(Source, Source.id == Mention.source_id)
        .outerjoin(Touchpoint, Touchpoint.id == Mention.touchpoint_id)
        .outerjoin(Analysis, Analysis.id == _latest_analysis_id())
        .where(_counted_mentions(weeks))
        .group_by(offset, Touchpoint.name, Source.name, Analysis.label)
    )
    return [
        (int(week), touchpoint, source, None if label is None else str(label), int(count), int(churned or 0))
        for week, touchpoint, source, label, count, churned in session.execute(stmt)
    ]


def count_versions(session: Session, start: datetime, end: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Model versions and taxonomy versions -> mentions of the week whose latest analysis used them."""
    stmt = (
        select(Analysis.model_version, Analysis.taxonomy_version, func.count())
        .select_from(Mention)
        .join(Analysis, Analysis.id == _latest_analysis_id())
        .where(_counted_mentions([(start, end)]))
        .group_by(Analysis.model_version, Analysis.taxonomy_version)
    )
    models: dict[str, int] = {}
    taxonomies: dict[str, int] = {}
    for model_version, taxonomy, count in session.execute(stmt):
        models[model_version] = models.get(model_version, 0) + int(count)
        if taxonomy is not None:
            taxonomies[taxonomy] = taxonomies.get(taxonomy, 0) + int(count)
    return models, taxonomies


def survey_cells(session: Session, weeks: Weeks) -> list[tuple[int, str | None, str, int, int]]:
    """(week offset, touchpoint, metric, score, answers)."""
    offset = _week_offset(SurveyResponse.answered_at, weeks).label("week_offset")
    stmt = (
        select(offset, Touchpoint.name, SurveyResponse.metric, SurveyResponse.score, func.count())
        .select_from(SurveyResponse)
        .outerjoin(Touchpoint, Touchpoint.id == SurveyResponse.touchpoint_id)
        .where(SurveyResponse.answered_at >= weeks[-1][0], SurveyResponse.answered_at < weeks[0][1])
        .group_by(offset, Touchpoint.name, SurveyResponse.metric, SurveyResponse.score)
    )
    return [
        (int(week), touchpoint, str(metric), int(score), int(count))
        for week, touchpoint, metric, score, count in session.execute(stmt)
    ]


def _topic_is_negative() -> ColumnElement[bool]:
    """The clauses about the topic were negative; without aspect sentiment, the mention was."""
    return or_(
        MentionTopic.label == _NEGATIVE, and_(MentionTopic.label.is_(None), Analysis.label == _NEGATIVE)
    )


def topic_cells(session: Session, weeks: Weeks) -> list[tuple[int, str, int]]:
    """(week offset, topic, negative mentions about it)."""
    when = func.coalesce(Mention.published_at, Mention.collected_at)
    offset = _week_offset(when, weeks).label("week_offset")
    stmt = (
        select(offset, Topic.name, func.count())
        .select_from(Mention)
        .join(MentionTopic, MentionTopic.mention_id == Mention.id)
        .join(Topic, Topic.id == MentionTopic.topic_id)
        .outerjoin(Analysis, Analysis.id == _latest_analysis_id())
        .where(_counted_mentions(weeks), _topic_is_negative())
        .group_by(offset, Topic.name)
    )
    return [(int(week), topic, int(count)) for week, topic, count in session.execute(stmt)]


def list_quotes(
    session: Session, start: datetime, end: datetime, topics: Sequence[str], *, per_topic: int
) -> dict[str, list[tuple[str, str, str]]]:
    """Topic -> (text, url, source) of the week's most clearly negative mentions about it (highest
    p_negative first, ties by id): one pass over the week's mentions for all topics (a window function)."""
    if not topics or per_topic <= 0:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=Topic.name, order_by=(Analysis.p_negative.desc(), Mention.id))
        .label("rank")
    )
    ranked = (
        select(Topic.name.label("topic"), Mention.text, Mention.url, Source.name.label("source"), rank)
        .select_from(Mention)
        .join(Source, Source.id == Mention.source_id)
        .join(MentionTopic, MentionTopic.mention_id == Mention.id)
        .join(Topic, Topic.id == MentionTopic.topic_id)
        .join(Analysis, Analysis.id == _latest_analysis_id())
        .where(_counted_mentions([(start, end)]), _topic_is_negative())
        .subquery()
    )
    # Topics are picked here, not in SQL: a topic filter (pushed down into the window's query) leads the
    # planner through each topic's mentions of all time instead of through the week's mentions.
    stmt = (
        select(ranked.c.topic, ranked.c.text, ranked.c.url, ranked.c.source)
        .where(ranked.c.rank <= per_topic)
        .order_by(ranked.c.topic, ranked.c.rank)
    )
    wanted = set(topics)
    quotes: dict[str, list[tuple[str, str, str]]] = {}
    for topic, body, url, source in session.execute(stmt):
        if topic in wanted:
            quotes.setdefault(topic, []).append((body, url, source))
    return quotes


def list_week_incidents(
    session: Session, start: datetime, end: datetime, *, limit: int
) -> list[tuple[str, str, str, int, datetime, datetime]]:
    """(title, status, state, mentions, opened_at, last_mention_at) of incidents active in the week,
    biggest first; the title is the incident's topic, else its touchpoint, else its grouping key."""
    title = func.coalesce(Topic.name, Touchpoint.name, Incident.key)
    stmt = (
        select(
            title,
            Incident.status,
            Incident.state,
            Incident.mention_count,
            Incident.opened_at,
            Incident.last_mention_at,
        )
        .outerjoin(Topic, Topic.id == Incident.topic_id)
        .outerjoin(Touchpoint, Touchpoint.id == Incident.touchpoint_id)
        .where(Incident.opened_at < end, Incident.last_mention_at >= start)
        .order_by(Incident.mention_count.desc(), Incident.id)
        .limit(limit)
    )
    return [
        (str(name), str(status), state, int(count), opened, last)
        for name, status, state, count, opened, last in session.execute(stmt)
    ]


def count_held_back(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Channel -> alerts the per-channel budget held back (suppressed) during the week."""
    stmt = (
        select(Alert.channel, func.count())
        .where(Alert.status == AlertStatus.SUPPRESSED, Alert.created_at >= start, Alert.created_at < end)
        .group_by(Alert.channel)
    )
    return {channel: int(count) for channel, count in session.execute(stmt)}


def list_journey(session: Session) -> list[tuple[str, str]]:
    """(touchpoint, stage) of every touchpoint, unordered (the caller sorts by journey stage)."""
    return [(name, str(stage)) for name, stage in session.execute(select(Touchpoint.name, Touchpoint.stage))]


def taxonomy_version(session: Session) -> str:
    """ "N topics · <8 hex>": a fingerprint of the stored taxonomy (names and descriptions), so a digest
    says which topic definitions its topic counts were made with."""
    rows = sorted((name, text) for name, text in session.execute(select(Topic.name, Topic.description)))
    if not rows:
        return "no topics"
    digest = hashlib.sha256("\n".join(f"{name}\t{text}" for name, text in rows).encode()).hexdigest()
    return f"{len(rows)} topics · {digest[:8]}"


def list_runs_between(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, str, bool, CrawlRun | None]]:
    """(source, kind, enabled, run) for crawl runs started in [start, end); a source without runs comes
    once with run None."""
    stmt = (
        select(Source.name, Source.kind, Source.enabled, CrawlRun)
        .outerjoin(
            CrawlRun,
            and_(CrawlRun.source_id == Source.id, CrawlRun.started_at >= start, CrawlRun.started_at < end),
        )
        .order_by(Source.name, CrawlRun.started_at)
    )
    return [(name, kind, enabled, run) for name, kind, enabled, run in session.execute(stmt)]


# -- the digest outbox record --------------------------------------------------------------------------


def partial_edition(until: datetime) -> str:
    """The edition of a partial digest (a preview of a week that is not over) of the data up to `until`,
    e.g. "partial@2026-11-19T12:00Z": each preview is a row of its own, and none is the week's digest
    (`FINAL_EDITION`), which stays owed until the week is over."""
    return f"partial@{until.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def get_digest_for_update(
    session: Session, *, week: str, channel: str, now: datetime, edition: str = FINAL_EDITION
) -> Digest:
    """The (week, channel, edition) row, created `pending` if new, locked for this transaction.

    Created with INSERT ... ON CONFLICT DO NOTHING, so two processes racing create one row.
    """
    session.execute(
        insert_for(session, Digest)
        .values(
            week=week,
            channel=channel,
            edition=edition,
            status=DigestStatus.PENDING,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Digest.week, Digest.channel, Digest.edition])
    )
    stmt = (
        select(Digest)
        .where(Digest.week == week, Digest.channel == channel, Digest.edition == edition)
        .with_for_update()
    )
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def mark_digest_posted(row: Digest, *, ts: str, channel_id: str) -> None:
    row.slack_ts, row.slack_channel_id = ts, channel_id


def mark_digest_sent(row: Digest, *, chart_file_id: str, now: datetime) -> None:
    row.chart_file_id, row.status, row.sent_at, row.last_error = chart_file_id, DigestStatus.SENT, now, None


def mark_digest_error(row: Digest, *, error: str, permanent: bool) -> None:
    """Keep the row `pending` (the next run retries) unless retrying cannot help."""
    row.last_error = error[:500]
    if permanent:
        row.status = DigestStatus.FAILED


def mark_digest_skipped(row: Digest) -> None:
    """Nothing to post (an empty week, and empty weeks are not posted): nothing is owed any more."""
    row.status, row.last_error = DigestStatus.SKIPPED, None


def is_digest_done(session: Session, *, week: str, channel: str) -> bool:
    """Whether the week's (complete) digest needs nothing more for `channel`: it is in Slack, or the week
    was empty and skipped. The weekly job's cheap first check; partial previews never count."""
    stmt = select(Digest.id).where(
        Digest.week == week,
        Digest.channel == channel,
        Digest.edition == FINAL_EDITION,
        Digest.status.in_((DigestStatus.SENT, DigestStatus.SKIPPED)),
    )
    return session.scalar(stmt) is not None


def heard_before(session: Session, moment: datetime) -> bool:
    """Whether any mention was collected before `moment` (a week before the first crawl has no digest).

    EXISTS stops at the first such row, which in a database that has any history is one of the first.
    """
    return bool(session.scalar(select(select(Mention.id).where(Mention.collected_at < moment).exists())))
