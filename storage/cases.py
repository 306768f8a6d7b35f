"""One case of the CX review queue: open it, show it, and change it with an audit trail.

Every change to a case goes through `apply_action`, which writes the change and its `case_events` row
together: the history on the case page and the Slack thread reply are both built from that event, so
nothing a person did can be missing from the audit trail. The queue of cases is `storage.queue`; what
staff corrected is read back as ground truth by `storage.corrections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload

from storage._dialect import insert_for
from storage.enums import CaseEventKind, CaseStatus, SentimentLabel, Severity, TouchpointOrigin, UserRole
from storage.errors import CaseActionError
from storage.models import (
    Alert,
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
from storage.queue import SEVERITY_ORDER, ModelOutput, latest_analyses, quote

__all__ = [
    "CASE_ACTIONS",
    "DISMISS_REASONS",
    "RESOLVE_REASONS",
    "CaseAction",
    "CaseDetail",
    "EventRow",
    "RelatedMention",
    "TopicScore",
    "apply_action",
    "case_detail",
    "flag_for_review",
    "open_case",
]

CASE_ACTIONS: tuple[CaseEventKind, ...] = tuple(
    kind for kind in CaseEventKind if kind != CaseEventKind.OPENED
)
"""What a person can do to a case: every event kind but `opened`, which only `open_case` writes."""
RESOLVE_REASONS: tuple[str, ...] = ("answered", "fixed", "escalated", "no_action_needed")
DISMISS_REASONS: tuple[str, ...] = ("not_relevant", "spam", "not_our_brand")


def open_case(
    session: Session, *, mention_id: int, reason: str, severity: Severity, now: datetime
) -> int | None:
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
            severity_order=SEVERITY_ORDER[severity],
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
                kind=CaseEventKind.OPENED,
                detail={"reason": reason, "severity": severity},
                created_at=now,
            )
        )
    return case_id


def flag_for_review(
    session: Session, *, mention_id: int, reason: str, note: str, severity: Severity, now: datetime
) -> int:
    """Ask a person to look at a mention, with a note from vocwatch itself; returns the case id.

    The mention's case is opened (with `reason` and `severity`) if it has none; a closed one is reopened,
    since the note asks for something to be done. The note is a `note` event without a user, which the
    case history shows as written by vocwatch.
    """
    open_case(session, mention_id=mention_id, reason=reason, severity=severity, now=now)
    case = session.scalars(select(Case).where(Case.mention_id == mention_id).with_for_update()).one()
    if case.status in (CaseStatus.RESOLVED, CaseStatus.DISMISSED):
        case.status, case.resolution, case.closed_at = CaseStatus.OPEN, None, None
        session.add(CaseEvent(case_id=case.id, kind=CaseEventKind.REOPEN, detail={}, created_at=now))
    case.updated_at = now
    session.add(
        CaseEvent(case_id=case.id, kind=CaseEventKind.NOTE, detail={"note": note[:4000]}, created_at=now)
    )
    return case.id


@dataclass(frozen=True)
class EventRow:
    kind: CaseEventKind
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
    severity: Severity
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
        analysis=latest_analyses(session, [mention.id]).get(mention.id),
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
                other.id, RelatedMention(other.id, case_id, quote(other), source_name, relation)
            )
    return list(related.values())[:limit]


@dataclass(frozen=True)
class CaseAction:
    """One thing a person does to a case. `kind` is the event kind; the other fields depend on it:

    acknowledge · reopen · assign (`assignee_id`, None = unassign) · note (`note`) · resolve / dismiss
    (`reason`) · correct (`label`, `topics`, `touchpoint`; None = leave as is).
    """

    kind: CaseEventKind
    assignee_id: int | None = None
    note: str | None = None
    reason: str | None = None
    label: SentimentLabel | None = None
    topics: tuple[str, ...] | None = None
    touchpoint: str | None = None


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


_CLOSED = frozenset({CaseStatus.RESOLVED, CaseStatus.DISMISSED})
_NEEDS_OPEN_CASE = frozenset({CaseEventKind.ACKNOWLEDGE, CaseEventKind.RESOLVE, CaseEventKind.DISMISS})
"""A closed case keeps its outcome: acknowledging it would put it back in the active queue with its old
resolution, resolving it again would overwrite how it ended. Notes, assignments and corrections stay
possible; anything else needs a Reopen first (an event of its own in the history)."""


def _apply(session: Session, case: Case, action: CaseAction, *, now: datetime) -> dict[str, Any]:
    """Change the case for one action; returns the event's detail (what the history and Slack show)."""
    kind = action.kind
    closed = case.status in _CLOSED
    if closed and kind in _NEEDS_OPEN_CASE:
        raise CaseActionError(
            f"case #{case.id} is {case.status} ({case.resolution}): reopen it first to {kind} it again"
        )
    if kind == CaseEventKind.ACKNOWLEDGE:
        case.status = CaseStatus.ACKNOWLEDGED
        return {}
    if kind == CaseEventKind.REOPEN:
        if not closed:
            raise CaseActionError(f"case #{case.id} is {case.status}, not closed: nothing to reopen")
        case.status, case.resolution, case.closed_at = CaseStatus.OPEN, None, None
        return {}
    if kind == CaseEventKind.ASSIGN:
        assignee = session.get(User, action.assignee_id) if action.assignee_id is not None else None
        if action.assignee_id is not None and (assignee is None or assignee.role == UserRole.VIEWER):
            raise CaseActionError(f"user {action.assignee_id} cannot work cases")
        case.assignee_id = action.assignee_id
        return {"assignee": assignee.username if assignee is not None else None}
    if kind == CaseEventKind.NOTE:
        note = (action.note or "").strip()
        if not note:
            raise CaseActionError("an empty note")
        return {"note": note[:4000]}
    if kind in (CaseEventKind.RESOLVE, CaseEventKind.DISMISS):
        allowed = RESOLVE_REASONS if kind == CaseEventKind.RESOLVE else DISMISS_REASONS
        if action.reason not in allowed:
            raise CaseActionError(f"{kind} reason must be one of {', '.join(allowed)}")
        case.status = CaseStatus.RESOLVED if kind == CaseEventKind.RESOLVE else CaseStatus.DISMISSED
        case.resolution, case.closed_at = action.reason, now
        return {"reason": action.reason}
    if kind == CaseEventKind.CORRECT:
        return _correct(session, case, action, now=now)
    raise CaseActionError(f"unknown action '{kind}'")


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
            mention.touchpoint_origin = TouchpointOrigin.CORRECTION
        detail["touchpoint"] = action.touchpoint
    if not detail:
        raise CaseActionError("a correction needs a label, topics or a touchpoint")
    case.corrected_at = now
    return detail
