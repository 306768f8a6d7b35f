"""Numbers for the review UI's dashboard: sentiment per touchpoint over time, negative topics, case ages,
and the coverage of each source. Each query aggregates in the database and returns small plain rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Subquery, and_, case, func, select, true
from sqlalchemy.orm import Session

from storage.enums import CrawlRunStatus, JourneyStage, SentimentLabel
from storage.models import Analysis, Case, CrawlRun, Mention, MentionTopic, Source, Topic, Touchpoint
from storage.queue import ACTIVE_STATUSES

__all__ = [
    "AGE_BUCKETS",
    "DailySentiment",
    "SourceCoverage",
    "TopicCount",
    "daily_sentiment",
    "open_cases_by_age",
    "source_coverage",
    "top_negative_topics",
]

# (label, upper bound of the case's age); the last bucket is open-ended.
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 1 day", timedelta(days=1)),
    ("1–3 days", timedelta(days=3)),
    ("3–7 days", timedelta(days=7)),
    ("> 7 days", None),
)


@dataclass(frozen=True)
class DailySentiment:
    """One touchpoint on one day (by arrival): counts of the latest analysis labels."""

    touchpoint: str
    stage: JourneyStage
    day: date
    negative: int
    neutral: int
    positive: int

    @property
    def total(self) -> int:
        return self.negative + self.neutral + self.positive

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.total if self.total else None

    @property
    def net_sentiment(self) -> float | None:
        """(positive − negative) / analyzed, in −1..1."""
        return (self.positive - self.negative) / self.total if self.total else None


def _latest_labels() -> Subquery:
    latest = select(func.max(Analysis.id).label("analysis_id")).group_by(Analysis.mention_id).subquery()
    return (
        select(Analysis.mention_id, Analysis.label)
        .join(latest, Analysis.id == latest.c.analysis_id)
        .subquery()
    )


def daily_sentiment(session: Session, *, since: datetime) -> list[DailySentiment]:
    """Per touchpoint and day since `since`, the label counts of analyzed mentions (latest analysis)."""
    labels = _latest_labels()
    day = func.date(Mention.collected_at)
    stmt = (
        select(
            Touchpoint.name,
            Touchpoint.stage,
            day.label("day"),
            *(func.count(case((labels.c.label == label, 1))).label(label.value) for label in SentimentLabel),
        )
        .join(Mention, Mention.touchpoint_id == Touchpoint.id)
        .join(labels, labels.c.mention_id == Mention.id)
        .where(Mention.collected_at >= since)
        .group_by(Touchpoint.name, Touchpoint.stage, day)
        .order_by(Touchpoint.name, day)
    )
    return [
        DailySentiment(name, JourneyStage(stage), _as_date(when), negative, neutral, positive)
        for name, stage, when, negative, neutral, positive in session.execute(stmt)
    ]


def _as_date(value: object) -> date:
    """SQLite's date() gives 'YYYY-MM-DD' text, PostgreSQL a date."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class TopicCount:
    topic: str
    negative: int
    total: int


def top_negative_topics(session: Session, *, since: datetime, limit: int = 10) -> list[TopicCount]:
    """Topics by the number of mentions whose aspect sentiment toward them is negative."""
    negative = func.count(case((MentionTopic.label == SentimentLabel.NEGATIVE, 1)))
    stmt = (
        select(Topic.name, negative.label("negative"), func.count().label("total"))
        .join(MentionTopic, MentionTopic.topic_id == Topic.id)
        .join(Mention, Mention.id == MentionTopic.mention_id)
        .where(Mention.collected_at >= since)
        .group_by(Topic.name)
        .having(negative > 0)
        .order_by(negative.desc(), Topic.name)
        .limit(limit)
    )
    return [TopicCount(name, neg, total) for name, neg, total in session.execute(stmt)]


def open_cases_by_age(session: Session, *, now: datetime) -> list[tuple[str, int]]:
    """Active (open or acknowledged) cases per age bucket (AGE_BUCKETS), counted in one query."""
    columns = []
    newer_bound: datetime | None = None  # the previous bucket's lower edge is this one's upper edge
    for label, age in AGE_BUCKETS:
        older_bound = now - age if age is not None else None
        conditions: list[ColumnElement[bool]] = []
        if older_bound is not None:
            conditions.append(Case.created_at >= older_bound)
        if newer_bound is not None:
            conditions.append(Case.created_at < newer_bound)
        columns.append(func.count(case((and_(true(), *conditions), 1))).label(label))
        newer_bound = older_bound
    counts = session.execute(select(*columns).where(Case.status.in_(ACTIVE_STATUSES))).one()
    return [(label, int(count)) for (label, _), count in zip(AGE_BUCKETS, counts, strict=True)]


@dataclass(frozen=True)
class SourceCoverage:
    """A source's latest crawl: whether it is delivering (`ok`), failing, or has never run."""

    source: str
    kind: str
    enabled: bool
    status: CrawlRunStatus | None
    finished_at: datetime | None
    items_new: int | None
    error: str | None


def source_coverage(session: Session) -> list[SourceCoverage]:
    latest = select(func.max(CrawlRun.id).label("run_id")).group_by(CrawlRun.source_id).subquery()
    stmt = (
        select(Source, CrawlRun)
        .outerjoin(CrawlRun, (CrawlRun.source_id == Source.id) & CrawlRun.id.in_(select(latest.c.run_id)))
        .order_by(Source.name)
    )
    return [
        SourceCoverage(
            source=source.name,
            kind=source.kind,
            enabled=source.enabled,
            status=run.status if run is not None else None,
            finished_at=run.finished_at if run is not None else None,
            items_new=run.items_new if run is not None else None,
            error=run.error if run is not None else None,
        )
        for source, run in session.execute(stmt)
    ]
