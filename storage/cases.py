"""The CX review queue: open cases, list and filter them, record what staff do, and read corrections.

Every change to a case goes through `apply_action`, which writes the change and its `case_events` row
together: the history on the case page and the Slack thread reply are both built from that event, so
nothing a person did can be missing from the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload

from storage._dialect import insert_for
from storage.enums import AlertKind, CaseStatus, SentimentLabel, UserRole
from storage.mentions import analysis_text
from storage.models import (
    Alert,
    Analysis,
    Case,
    CaseEvent,
    Incident,
    Mention,
    MentionTopic,
    Source,
    Topic,
    Touchpoint,
    User,
)

__all__ = [
    "ACTIVE_STATUSES",
    "COUNT_CAP",
    "DISMISS_REASONS",
    "RESOLVE_REASONS",
    "SEVERITY_ORDER",
    "CaseAction",
    "CaseActionError",
    "CaseDetail",
    "CorrectionRow",
    "EventRow",
    "ModelOutput",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "RelatedMention",
    "SlackThread",
    "TopicScore",
    "apply_action",
    "case_detail",
    "list_corrections",
    "list_queue",
    "open_case",
    "queue_languages",
    "slack_thread_for_mention",
]

# Queue position of notifier.policy.Severity levels (most severe first); unknown levels sort last.
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}
_UNKNOWN_SEVERITY_ORDER = 9
COUNT_CAP = 1000
ACTIVE_STATUSES: tuple[CaseStatus, ...] = (CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED)
RESOLVE_REASONS: tuple[str, ...] = ("answered", "fixed", "escalated", "no_action_needed")
DISMISS_REASONS: tuple[str, ...] = ("not_relevant", "spam", "not_our_brand")
_QUOTE_CHARS = 280


def open_case(session: Session, *, mention_id: int, reason: str, severity: str, now: datetime) -> int | None:
    """Flag a mention for review; returns the new case id, or None when the mention already has a case.

    The "opened" event starts the case's audit trail, so every later change has a predecessor.
    """
    stmt = (
        insert_for(session, Case)
        .values(
            mention_id=mention_id,
            status=CaseStatus.OPEN,
            reason=reason,
            severity=severity,
            severity_order=SEVERITY_ORDER.get(severity, _UNKNOWN_SEVERITY_ORDER),
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Case.mention_id])
        .returning(Case.id)
    )
    case_id = session.execute(stmt).scalar_one_or_none()
    if case_id is not None:
        session.add(
            CaseEvent(
                case_id=case_id,
                kind="opened",
                detail={"reason": reason, "severity": severity},
                created_at=now,
            )
        )
    return case_id


# -- the queue ------


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows; empty fields do not filter. `assignee_id=0` means "unassigned"."""

    statuses: tuple[CaseStatus, ...] = ACTIVE_STATUSES
    touchpoint: str | None = None
    topic: str | None = None
    source: str | None = None
    severity: str | None = None
    lang: str | None = None
    assignee_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue page: enough to decide which case to open next."""

    case_id: int
    status: CaseStatus
    severity: str
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
    analyses = _latest_analyses(session, mention_ids)
    topics = _topic_names(session, mention_ids)
    rows = [
        QueueRow(
            case_id=case.id,
            status=case.status,
            severity=case.severity,
            reason=case.reason,
            created_at=case.created_at,
            quote=_quote(mention),
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


def _quote(mention: Mention) -> str:
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


def _latest_analyses(session: Session, mention_ids: Sequence[int]) -> dict[int, ModelOutput]:
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


# -- one case ------


@dataclass(frozen=True)
class EventRow:
    kind: str
    user: str | None
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class RelatedMention:
    """Another mention in the same incident, or a copy of the same text elsewhere."""

    mention_id: int
    case_id: int | None
    quote: str
    source: str
    relation: str  # "incident" or "copy"


@dataclass(frozen=True)
class TopicScore:
    name: str
    score: float
    label: SentimentLabel | None


@dataclass(frozen=True)
class CaseDetail:
    """Everything the case page shows, as plain values (no ORM rows outside the transaction)."""

    case_id: int
    status: CaseStatus
    severity: str
    reason: str
    resolution: str | None
    created_at: datetime
    assignee_id: int | None
    assignee: str | None
    mention_id: int
    text: str
    title: str | None
    url: str
    author: str | None
    source: str
    lang: str | None
    published_at: datetime | None
    reach: dict[str, int]
    touchpoint: str | None
    analysis: ModelOutput | None
    topics: list[TopicScore]
    corrected_label: SentimentLabel | None
    corrected_topics: list[str] | None
    corrected_touchpoint: str | None
    incident_id: int | None
    incident_size: int | None
    related: list[RelatedMention] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)


def case_detail(session: Session, case_id: int) -> CaseDetail | None:
    """The case page's data, or None when there is no such case."""
    case = session.get(
        Case,
        case_id,
        options=[joinedload(Case.mention).joinedload(Mention.source), joinedload(Case.assignee)],
    )
    if case is None:
        return None
    mention = case.mention
    touchpoint = session.get(Touchpoint, mention.touchpoint_id) if mention.touchpoint_id else None
    corrected_tp = (
        session.get(Touchpoint, case.corrected_touchpoint_id) if case.corrected_touchpoint_id else None
    )
    incident = _incident_of(session, mention.id)
    topic_rows = session.execute(
        select(Topic.name, MentionTopic.score, MentionTopic.label)
        .join(Topic, MentionTopic.topic_id == Topic.id)
        .where(MentionTopic.mention_id == mention.id)
        .order_by(MentionTopic.score.desc())
    ).all()
    events = session.execute(
        select(CaseEvent, User.username)
        .outerjoin(User, CaseEvent.user_id == User.id)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.id)
    ).all()
    reach = {
        name: value
        for name, value in (
            ("followers", mention.author_followers),
            ("score", mention.score),
            ("replies", mention.replies),
            ("reposts", mention.reposts),
            ("likes", mention.likes),
        )
        if value is not None
    }
    return CaseDetail(
        case_id=case.id,
        status=case.status,
        severity=case.severity,
        reason=case.reason,
        resolution=case.resolution,
        created_at=case.created_at,
        assignee_id=case.assignee_id,
        assignee=case.assignee.username if case.assignee is not None else None,
        mention_id=mention.id,
        text=mention.text,
        title=mention.title,
        url=mention.url,
        author=mention.author,
        source=mention.source.name,
        lang=mention.lang,
        published_at=mention.published_at,
        reach=reach,
        touchpoint=touchpoint.name if touchpoint is not None else None,
        analysis=_latest_analyses(session, [mention.id]).get(mention.id),
        topics=[TopicScore(name, score, label) for name, score, label in topic_rows],
        corrected_label=case.corrected_label,
        corrected_topics=case.corrected_topics,
        corrected_touchpoint=corrected_tp.name if corrected_tp is not None else None,
        incident_id=incident.id if incident is not None else None,
        incident_size=incident.mention_count if incident is not None else None,
        related=_related(session, mention, incident),
        events=[
            EventRow(event.kind, username, dict(event.detail), event.created_at) for event, username in events
        ],
    )


def _incident_of(session: Session, mention_id: int) -> Incident | None:
    stmt = (
        select(Incident)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(Alert.mention_id == mention_id)
        .order_by(Alert.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def _related(
    session: Session, mention: Mention, incident: Incident | None, limit: int = 10
) -> list[RelatedMention]:
    """Mentions of the same incident, then copies of the same text (cross-posts)."""
    related: dict[int, RelatedMention] = {}
    queries: list[tuple[str, ColumnElement[bool]]] = []
    if incident is not None:
        in_incident = select(Alert.mention_id).where(Alert.incident_id == incident.id)
        queries.append(("incident", Mention.id.in_(in_incident)))
    queries.append(("copy", Mention.content_hash == mention.content_hash))
    for relation, condition in queries:
        stmt = (
            select(Mention, Source.name, Case.id)
            .join(Source, Mention.source_id == Source.id)
            .outerjoin(Case, Case.mention_id == Mention.id)
            .where(condition, Mention.id != mention.id)
            .order_by(Mention.id.desc())
            .limit(limit)
        )
        for other, source_name, case_id in session.execute(stmt):
            related.setdefault(
                other.id, RelatedMention(other.id, case_id, _quote(other), source_name, relation)
            )
    return list(related.values())[:limit]


# -- actions ------


@dataclass(frozen=True)
class CaseAction:
    """One thing a person does to a case. `kind` is the event kind; the other fields depend on it:

    acknowledge · reopen · assign (`assignee_id`, None = unassign) · note (`note`) · resolve / dismiss
    (`reason`) · correct (`label`, `topics`, `touchpoint`; None = leave as is).
    """

    kind: str
    assignee_id: int | None = None
    note: str | None = None
    reason: str | None = None
    label: SentimentLabel | None = None
    topics: tuple[str, ...] | None = None
    touchpoint: str | None = None


class CaseActionError(ValueError):
    """The action does not fit the case (unknown reason, topic, touchpoint or user)."""


def apply_action(
    session: Session, case_id: int, action: CaseAction, *, user_id: int, now: datetime
) -> CaseEvent:
    """Change the case as `action` says and record the event; returns the (flushed) event row.

    A touchpoint correction also moves the mention to that touchpoint: a CX correction wins over the
    source's default and the topic rules, so reports count the mention where staff say it belongs.
    """
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise CaseActionError(f"no case {case_id}")
    detail = _apply(session, case, action, now=now)
    case.updated_at = now
    event = CaseEvent(case_id=case.id, user_id=user_id, kind=action.kind, detail=detail, created_at=now)
    session.add(event)
    session.flush()
    return event


def _apply(session: Session, case: Case, action: CaseAction, *, now: datetime) -> dict[str, Any]:
    kind = action.kind
    if kind == "acknowledge":
        case.status = CaseStatus.ACKNOWLEDGED
        return {}
    if kind == "reopen":
        case.status, case.resolution, case.closed_at = CaseStatus.OPEN, None, None
        return {}
    if kind == "assign":
        assignee = session.get(User, action.assignee_id) if action.assignee_id is not None else None
        if action.assignee_id is not None and (assignee is None or assignee.role == UserRole.VIEWER):
            raise CaseActionError(f"user {action.assignee_id} cannot work cases")
        case.assignee_id = action.assignee_id
        return {"assignee": assignee.username if assignee is not None else None}
    if kind == "note":
        note = (action.note or "").strip()
        if not note:
            raise CaseActionError("an empty note")
        return {"note": note[:4000]}
    if kind in ("resolve", "dismiss"):
        allowed = RESOLVE_REASONS if kind == "resolve" else DISMISS_REASONS
        if action.reason not in allowed:
            raise CaseActionError(f"{kind} reason must be one of {', '.join(allowed)}")
        case.status = CaseStatus.RESOLVED if kind == "resolve" else CaseStatus.DISMISSED
        case.resolution, case.closed_at = action.reason, now
        return {"reason": action.reason}
    if kind == "correct":
        return _correct(session, case, action, now=now)
    raise CaseActionError(f"unknown action {kind!r}")


def _correct(session: Session, case: Case, action: CaseAction, *, now: datetime) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if action.label is not None:
        case.corrected_label = action.label
        detail["label"] = action.label.value
    if action.topics is not None:
        known = set(session.scalars(select(Topic.name).where(Topic.name.in_(action.topics))))
        unknown = sorted(set(action.topics) - known)
        if unknown:
            raise CaseActionError(f"unknown topic(s): {', '.join(unknown)}")
        case.corrected_topics = sorted(known)
        detail["topics"] = case.corrected_topics
    if action.touchpoint is not None:
        touchpoint_id = session.scalar(select(Touchpoint.id).where(Touchpoint.name == action.touchpoint))
        if touchpoint_id is None:
            raise CaseActionError(f"unknown touchpoint {action.touchpoint!r}")
        case.corrected_touchpoint_id = touchpoint_id
        mention = session.get(Mention, case.mention_id)
        if mention is not None:
            mention.touchpoint_id = touchpoint_id
        detail["touchpoint"] = action.touchpoint
    if not detail:
        raise CaseActionError("a correction needs a label, topics or a touchpoint")
    case.corrected_at = now
    return detail


# -- corrections as ground truth ------


@dataclass(frozen=True)
class CorrectionRow:
    """A corrected case: the text and what CX staff say its labels are (None: not corrected)."""

    case_id: int
    text: str
    label: str | None
    topics: list[str] | None
    touchpoint: str | None
    corrected_at: datetime


def list_corrections(session: Session) -> list[CorrectionRow]:
    """Every case with a correction, oldest correction first (for `eval --from-corrections` and export)."""
    stmt = (
        select(Case, Mention.text, Mention.title, Touchpoint.name)
        .join(Mention, Case.mention_id == Mention.id)
        .outerjoin(Touchpoint, Case.corrected_touchpoint_id == Touchpoint.id)
        .where(Case.corrected_at.is_not(None))
        .order_by(Case.corrected_at, Case.id)
    )
    return [
        CorrectionRow(
            case_id=case.id,
            text=analysis_text(title, text),
            label=case.corrected_label.value if case.corrected_label is not None else None,
            topics=list(case.corrected_topics) if case.corrected_topics is not None else None,
            touchpoint=touchpoint,
            corrected_at=case.corrected_at,
        )
        for case, text, title, touchpoint in session.execute(stmt)
        if case.corrected_at is not None
    ]


# -- Slack ------


@dataclass(frozen=True)
class SlackThread:
    """Where a mention's alert lives in Slack: replies about its case go into this thread."""

    channel: str
    channel_id: str
    ts: str
    incident_id: int | None


def slack_thread_for_mention(session: Session, mention_id: int) -> SlackThread | None:
    """The thread of the mention's delivered alert (its incident's thread when it is part of one).

    None when the mention was never posted to Slack (held back, suppressed, or not yet sent).
    """
    stmt = (
        select(Alert, Incident)
        .outerjoin(Incident, Alert.incident_id == Incident.id)
        .where(
            Alert.mention_id == mention_id,
            Alert.kind == AlertKind.MENTION,
            Alert.slack_ts.is_not(None),
            Alert.slack_channel_id.is_not(None),
            or_(
                Incident.id.is_(None),
                and_(Incident.slack_ts.is_not(None), Incident.slack_channel_id.is_not(None)),
            ),
        )
        .order_by(Alert.id)
        .limit(1)
    )
    found = session.execute(stmt).first()
    if found is None:
        return None
    alert, incident = found
    if incident is not None and incident.slack_ts and incident.slack_channel_id:
        return SlackThread(alert.channel, incident.slack_channel_id, incident.slack_ts, incident.id)
    assert alert.slack_ts is not None and alert.slack_channel_id is not None
    return SlackThread(alert.channel, alert.slack_channel_id, alert.slack_ts, None)
