"""Incident and budget queries: open incidents of a channel, recent pings, held-back alerts, parent updates.

Repository functions take a `Session` and never commit; the analysis stage that groups a mention into
an incident, enqueues its alert and updates the incident's parent does all of it in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.alerts import enqueue_alert
from storage.enums import AlertAction, AlertKind, AlertStatus, IncidentStatus
from storage.models import Alert, Case, Incident, Topic

__all__ = [
    "alert_exists",
    "case_id_for_mention",
    "count_pings",
    "create_incident",
    "incidents_silent_since",
    "list_held_back",
    "mark_bundled",
    "mark_parent_sent",
    "open_incidents",
    "open_incidents_by_key",
    "refresh_parent",
]


def open_incidents(session: Session, *, channel: str, since: datetime) -> list[Incident]:
    """Open incidents of `channel` whose last mention is at or after `since`, newest first, locked.

    The row lock (PostgreSQL) keeps two analysis workers from folding mentions into the same incident's
    counters at the same time; SQLite serialises writers anyway.
    """
    stmt = (
        select(Incident)
        .where(
            Incident.channel == channel,
            Incident.status == IncidentStatus.OPEN,
            Incident.last_mention_at >= since,
        )
        .order_by(Incident.last_mention_at.desc(), Incident.id.desc())
        .with_for_update()
    )
    return list(session.scalars(stmt))


def open_incidents_by_key(session: Session) -> dict[str, Incident]:
    """Per `topic:<name>` and `touchpoint:<name>`, the open incident with the most mentions whose theme
    it is: what a spike alert about that topic or touchpoint links to."""
    found: dict[str, Incident] = {}
    stmt = select(Incident).where(Incident.status == IncidentStatus.OPEN).order_by(Incident.mention_count)
    for incident in session.scalars(stmt):  # fewest first: the largest incident of a key is kept
        stats = incident.stats or {}
        for dimension in ("topic", "touchpoint"):
            if stats.get(dimension):
                found[f"{dimension}:{stats[dimension]}"] = incident
    return found


def incidents_silent_since(session: Session, *, before: datetime) -> list[Incident]:
    """Open incidents with no mention since `before`: candidates for `quiet` / `resolved`."""
    stmt = (
        select(Incident)
        .where(Incident.status == IncidentStatus.OPEN, Incident.last_mention_at <= before)
        .order_by(Incident.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def create_incident(
    session: Session,
    *,
    key: str,
    channel: str,
    mention_id: int,
    touchpoint_id: int | None,
    state: str,
    stats: dict[str, Any],
    now: datetime,
    topic: str | None = None,
) -> Incident:
    """A new open incident with its first mention; flushed so that its id can go on the parent alert.

    `topic` (a topic's name) is its theme: the digest lists incidents by it.
    """
    incident = Incident(
        key=key[:255],
        status=IncidentStatus.OPEN,
        channel=channel,
        topic_id=session.scalar(select(Topic.id).where(Topic.name == topic)) if topic else None,
        touchpoint_id=touchpoint_id,
        mention_id=mention_id,
        mention_count=1,
        opened_at=now,
        last_mention_at=now,
        state=state,
        stats=stats,
    )
    session.add(incident)
    session.flush()
    return incident


def alert_exists(session: Session, dedup_key: str) -> bool:
    """Whether an alert with this key was ever queued (any status): the same mention is grouped once."""
    return session.scalar(select(Alert.id).where(Alert.dedup_key == dedup_key)) is not None


def count_pings(session: Session, *, channel: str, since: datetime) -> int:
    """Top-level messages queued for `channel` since `since`, held-back ones excluded (the budget's input).

    Counted when queued rather than when sent, so the budget holds while the dispatcher lags behind.
    """
    stmt = select(func.count(Alert.id)).where(
        Alert.channel == channel,
        Alert.created_at >= since,
        Alert.action == AlertAction.POST,
        Alert.status != AlertStatus.SUPPRESSED,
    )
    return int(session.scalar(stmt) or 0)


def list_held_back(session: Session, *, channel: str) -> list[int]:
    """Ids of alerts the budget held back for `channel` that no sent message has reported yet."""
    stmt = (
        select(Alert.id)
        .where(
            Alert.channel == channel,
            Alert.status == AlertStatus.SUPPRESSED,
            Alert.bundled_into_id.is_(None),
        )
        .order_by(Alert.id)
    )
    return list(session.scalars(stmt))


def mark_bundled(session: Session, alert_ids: Sequence[int], *, into_id: int) -> None:
    """Record that the alert `into_id` carries the "+N held back" note for these suppressed alerts."""
    if alert_ids:
        session.execute(update(Alert).where(Alert.id.in_(alert_ids)).values(bundled_into_id=into_id))


def case_id_for_mention(session: Session, mention_id: int) -> int | None:
    return session.scalar(select(Case.id).where(Case.mention_id == mention_id))


def refresh_parent(
    session: Session,
    incident: Incident,
    *,
    text: str,
    blocks: list[dict[str, Any]],
    now: datetime,
) -> str:
    """Make Slack show the incident's new state: `rewritten`, `coalesced` or `queued`.

    While the parent post is still pending (not yet claimed), its own content is rewritten, so Slack
    receives the latest state with the first post and no `chat.update` is needed. Otherwise the latest
    state goes into the incident's pending update if one exists (updates coalesce: latest state wins),
    or into a new update alert.
    """
    parent = session.scalar(
        select(Alert)
        .where(Alert.incident_id == incident.id, Alert.action == AlertAction.POST)
        .order_by(Alert.id)
        .limit(1)
        .with_for_update()
    )
    if parent is not None and parent.status == AlertStatus.PENDING:
        parent.text, parent.blocks = text, blocks
        return "rewritten"
    pending = session.scalar(
        select(Alert)
        .where(
            Alert.incident_id == incident.id,
            Alert.action == AlertAction.UPDATE,
            Alert.status == AlertStatus.PENDING,
        )
        .order_by(Alert.id.desc())
        .limit(1)
        .with_for_update()
    )
    if pending is not None:
        pending.text, pending.blocks = text, blocks
        return "coalesced"
    sequence = session.scalar(
        select(func.count(Alert.id)).where(
            Alert.incident_id == incident.id, Alert.action == AlertAction.UPDATE
        )
    )
    enqueue_alert(
        session,
        kind=AlertKind.MENTION,
        dedup_key=f"incident:{incident.id}:update:{int(sequence or 0) + 1}",
        channel=incident.channel,
        text=text,
        blocks=blocks,
        incident_id=incident.id,
        action=AlertAction.UPDATE,
        now=now,
    )
    return "queued"


def mark_parent_sent(session: Session, incident_id: int, *, ts: str, channel_id: str) -> None:
    """The incident's parent is in Slack: replies and updates can now address it (first ts wins)."""
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is not None and incident.slack_ts is None:
        incident.slack_ts = ts
        incident.slack_channel_id = channel_id
