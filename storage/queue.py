"""The CX review queue as staff see it: filter the active cases, page through them, most severe first.

The queue page must stay cheap on a queue of many thousands of cases, so the reads here walk the
(severity_order, created_at) index and stop once a page is full; see `list_queue`. The model output that a
queue row shows (`ModelOutput`, `latest_analyses`) is also what the case page shows, so it is read here
and `storage.cases` reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from storage.enums import CaseStatus, SentimentLabel, Severity
from storage.models import Analysis, Case, Mention, MentionTopic, Source, Topic, Touchpoint, User

__all__ = [
    "ACTIVE_STATUSES",
    "COUNT_CAP",
    "SEVERITY_ORDER",
    "ModelOutput",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "latest_analyses",
    "list_queue",
    "queue_languages",
    "quote",
]

SEVERITY_ORDER: dict[Severity, int] = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
"""A case's position in the queue by severity (most severe first), stored as `cases.severity_order`."""
COUNT_CAP = 1000
ACTIVE_STATUSES: tuple[CaseStatus, ...] = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)
_QUOTE_CHARS = 280


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows; empty fields do not filter. `assignee_id=0` means "unassigned"."""

    statuses: tuple[CaseStatus, ...] = ACTIVE_STATUSES
    touchpoint: str | None = None
    topic: str | None = None
    source: str | None = None
    severity: Severity | None = None
    lang: str | None = None
    assignee_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue page: enough to decide which case to open next."""

    case_id: int
    status: CaseStatus
    severity: Severity
    reason: str
    created_at: datetime
    quote: str
    source: str
    lang: str | None
    touchpoint: str | None
    assignee: str | None
    label: SentimentLabel | None
    confidence: float | None
    topics: tuple[str, ...]


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue; `total` is exact up to COUNT_CAP, beyond that `capped` says "more than"."""

    rows: list[QueueRow]
    total: int
    capped: bool
    page: int
    per_page: int

    @property
    def pages(self) -> int | None:
        """The number of pages, or None when the count was capped."""
        return None if self.capped else max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return len(self.rows) == self.per_page and (self.capped or self.page * self.per_page < self.total)


def _queue_conditions(filt: QueueFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions on `cases`; filters on the mention or its topics are correlated EXISTS.

    EXISTS (rather than a join or IN) lets the database walk `cases` in queue order on the
    (severity_order, created_at) index, probe each case's mention by primary key, and stop once the
    page (or the capped count) is full, instead of collecting every match and sorting it.
    """
    conditions: list[ColumnElement[bool]] = []
    if filt.statuses:
        conditions.append(Case.status.in_(filt.statuses))
    if filt.severity:
        conditions.append(Case.severity == filt.severity)
    if filt.assignee_id == 0:
        conditions.append(Case.assignee_id.is_(None))
    elif filt.assignee_id is not None:
        conditions.append(Case.assignee_id == filt.assignee_id)
    if filt.since is not None:
        conditions.append(Case.created_at >= _day_start(filt.since))
    if filt.until is not None:
        conditions.append(Case.created_at < _day_start(filt.until + timedelta(days=1)))
    if filt.topic:
        topic_id = select(Topic.id).where(Topic.name == filt.topic).scalar_subquery()
        conditions.append(
            exists().where(MentionTopic.mention_id == Case.mention_id, MentionTopic.topic_id == topic_id)
        )
    on_mention: list[ColumnElement[bool]] = []
    if filt.touchpoint:
        touchpoint_id = select(Touchpoint.id).where(Touchpoint.name == filt.touchpoint).scalar_subquery()
        on_mention.append(Mention.touchpoint_id == touchpoint_id)
    if filt.source:
        on_mention.append(
            Mention.source_id == select(Source.id).where(Source.name == filt.source).scalar_subquery()
        )
    if filt.lang:
        on_mention.append(Mention.lang == filt.lang)
    if on_mention:
        conditions.append(exists().where(Mention.id == Case.mention_id, *on_mention))
    return conditions


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def list_queue(session: Session, filt: QueueFilter, *, page: int = 1, per_page: int = 50) -> QueuePage:
    """One page of cases, most severe first, then oldest first (the one waiting longest comes first).

    Three steps keep a page cheap on a large queue: count (capped) and pick the page's case ids on
    `cases` alone (see `_queue_conditions`), then read just those rows with their source, touchpoint
    and assignee, then their analyses and topics keyed by the page's mention ids.
    """
    page = max(1, page)
    base = select(Case.id).where(*_queue_conditions(filt))
    # Counting stops at COUNT_CAP + 1: nobody pages through a thousand cases, and an exact count of a big
    # filtered queue would cost more than the page itself.
    counted = int(
        session.execute(select(func.count()).select_from(base.limit(COUNT_CAP + 1).subquery())).scalar_one()
    )
    page_ids = list(
        session.scalars(
            base.order_by(Case.severity_order, Case.created_at, Case.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    position = {case_id: index for index, case_id in enumerate(page_ids)}
    found = sorted(
        session.execute(
            select(Case, Mention, Source.name, Touchpoint.name, User.username)
            .join(Mention, Case.mention_id == Mention.id)
            .join(Source, Mention.source_id == Source.id)
            .outerjoin(Touchpoint, Mention.touchpoint_id == Touchpoint.id)
            .outerjoin(User, Case.assignee_id == User.id)
            .where(Case.id.in_(page_ids))
        ).all(),
        key=lambda row: position[row[0].id],
    )
    mention_ids = [mention.id for _, mention, *_ in found]
    analyses = latest_analyses(session, mention_ids)
    topics = _topic_names(session, mention_ids)
    rows = [
        QueueRow(
            case_id=case.id,
            status=case.status,
            severity=case.severity,
            reason=case.reason,
            created_at=case.created_at,
            quote=quote(mention),
            source=source_name,
            lang=mention.lang,
            touchpoint=touchpoint_name,
            assignee=assignee,
            label=case.corrected_label or _label(analyses.get(mention.id)),
            confidence=analyses[mention.id].confidence if mention.id in analyses else None,
            topics=tuple(case.corrected_topics)
            if case.corrected_topics is not None
            else topics.get(mention.id, ()),
        )
        for case, mention, source_name, touchpoint_name, assignee in found
    ]
    return QueuePage(
        rows=rows, total=min(counted, COUNT_CAP), capped=counted > COUNT_CAP, page=page, per_page=per_page
    )


def queue_languages(session: Session) -> list[str]:
    """Languages present among flagged mentions, for the queue's language filter."""
    stmt = (
        select(Mention.lang)
        .join(Case, Case.mention_id == Mention.id)
        .where(Mention.lang.is_not(None))
        .distinct()
        .order_by(Mention.lang)
    )
    return [lang for lang in session.scalars(stmt) if lang]


def quote(mention: Mention) -> str:
    """The mention's text on one line, cut to what a queue row or a related-mention link has room for."""
    text = " ".join(mention.text.split())
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "…"


def _label(analysis: ModelOutput | None) -> SentimentLabel | None:
    return analysis.label if analysis is not None else None


@dataclass(frozen=True)
class ModelOutput:
    """The parts of an analysis the review UI shows (read by column, so new analysis columns cost nothing)."""

    label: SentimentLabel
    confidence: float
    p_negative: float
    p_neutral: float
    p_positive: float
    churn_risk: float | None
    model_version: str


def latest_analyses(session: Session, mention_ids: Sequence[int]) -> dict[int, ModelOutput]:
    """mention id -> its newest analysis (one row per model version exists; the newest one counts)."""
    if not mention_ids:
        return {}
    latest: dict[int, ModelOutput] = {}
    stmt = (
        select(
            Analysis.mention_id,
            Analysis.label,
            Analysis.confidence,
            Analysis.p_negative,
            Analysis.p_neutral,
            Analysis.p_positive,
            Analysis.churn_risk,
            Analysis.model_version,
        )
        .where(Analysis.mention_id.in_(mention_ids))
        .order_by(Analysis.id)
    )
    for (
        mention_id,
        label,
        confidence,
        p_negative,
        p_neutral,
        p_positive,
        churn_risk,
        version,
    ) in session.execute(stmt):
        latest[mention_id] = ModelOutput(
            label, confidence, p_negative, p_neutral, p_positive, churn_risk, version
        )
    return latest


def _topic_names(session: Session, mention_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    if not mention_ids:
        return {}
    names: dict[int, list[str]] = {}
    stmt = (
        select(MentionTopic.mention_id, Topic.name)
        .join(Topic, MentionTopic.topic_id == Topic.id)
        .where(MentionTopic.mention_id.in_(mention_ids))
        .order_by(MentionTopic.mention_id, MentionTopic.score.desc())
    )
    for mention_id, name in session.execute(stmt):
        names.setdefault(mention_id, []).append(name)
    return {mention_id: tuple(values) for mention_id, values in names.items()}
