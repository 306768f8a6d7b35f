"""The Slack outbox: queue alerts once, claim the due ones, and record each step of their delivery.

The `mark_*` functions only change attributes of a claimed row; the dispatcher commits them in its own
transactions (the `sending` mark is committed BEFORE the Slack call, so a crash after the call is
reconciled from Slack instead of posting twice). A delivered alert's Slack address is where later messages
about its mention go: `slack_thread_for_mention` finds it for case updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.enums import AlertAction, AlertKind, AlertStatus
from storage.models import Alert, Incident

__all__ = [
    "SlackThread",
    "claim_due",
    "enqueue_alert",
    "list_stuck_sending",
    "mark_ambiguous",
    "mark_failed",
    "mark_retry",
    "mark_sending",
    "mark_sent",
    "mark_suppressed",
    "slack_thread_for_mention",
]


def enqueue_alert(
    session: Session,
    *,
    kind: AlertKind,
    dedup_key: str,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]],
    mention_id: int | None = None,
    incident_id: int | None = None,
    action: AlertAction = AlertAction.POST,
    status: AlertStatus = AlertStatus.PENDING,
    reason: str | None = None,
    now: datetime,
) -> int | None:
    """Queue an alert due now; returns its id, or None when `dedup_key` was queued before.

    The unique `dedup_key` makes "the same mention or copy never twice" a database guarantee.
    `status=SUPPRESSED` with a `reason` stores an alert the budget held back (never sent, but counted).
    """
    stmt = (
        insert_for(session, Alert)
        .values(
            kind=kind,
            dedup_key=dedup_key,
            channel=channel,
            status=status,
            last_error=reason,
            action=action,
            attempts=0,
            text=text,
            blocks=blocks,
            mention_id=mention_id,
            incident_id=incident_id,
            created_at=now,
            next_attempt_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Alert.dedup_key])
        .returning(Alert.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def claim_due(session: Session, *, now: datetime, limit: int) -> list[Alert]:
    """Pending alerts whose `next_attempt_at` has come, oldest first, locked (SKIP LOCKED on PostgreSQL).

    Thread replies and parent updates of an incident wait until its parent message has a Slack `ts`.
    """
    parent_known = select(Incident.id).where(Incident.slack_ts.is_not(None))
    stmt = (
        select(Alert)
        .where(
            Alert.status == AlertStatus.PENDING,
            Alert.next_attempt_at <= now,
            or_(Alert.action == AlertAction.POST, Alert.incident_id.in_(parent_known)),
        )
        .order_by(Alert.next_attempt_at, Alert.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def list_stuck_sending(session: Session, *, claimed_before: datetime | None = None) -> list[Alert]:
    """Alerts left in `sending` (the process died between marking and recording the Slack answer).

    `claimed_before` excludes alerts another live dispatcher may be posting right now.
    """
    stmt = select(Alert).where(Alert.status == AlertStatus.SENDING)
    if claimed_before is not None:
        stmt = stmt.where(Alert.claimed_at < claimed_before)
    return list(session.scalars(stmt.order_by(Alert.id).with_for_update(skip_locked=True)))


def mark_sending(alert: Alert, *, now: datetime) -> None:
    """About to call Slack: counts the attempt and records when, for reconciliation."""
    alert.status = AlertStatus.SENDING
    alert.attempts += 1
    alert.claimed_at = now


def mark_sent(alert: Alert, *, ts: str, channel_id: str, now: datetime) -> None:
    """Slack accepted the message; `ts` + `channel_id` address it for thread replies and updates."""
    alert.status = AlertStatus.SENT
    alert.slack_ts = ts
    alert.slack_channel_id = channel_id
    alert.sent_at = now
    alert.last_error = None


def mark_retry(alert: Alert, *, error: str, next_attempt_at: datetime) -> None:
    """A transient failure (rate limit, 5xx): back to pending, not before `next_attempt_at`."""
    alert.status = AlertStatus.PENDING
    alert.last_error = error
    alert.next_attempt_at = next_attempt_at
    alert.claimed_at = None


def mark_failed(alert: Alert, *, error: str) -> None:
    """A permanent failure (channel_not_found, invalid_blocks...): retrying cannot help."""
    alert.status = AlertStatus.FAILED
    alert.last_error = error


def mark_ambiguous(alert: Alert, *, error: str) -> None:
    """The post may or may not have reached Slack, and Slack cannot tell us: never sent again by itself.

    Sending it again could post it twice; a person checks the channel instead (the dispatcher opens a
    review case). `claimed_at` stays: it says when to look for the message.
    """
    alert.status = AlertStatus.AMBIGUOUS
    alert.last_error = error


def mark_suppressed(alert: Alert, *, reason: str) -> None:
    """Held back by policy (channel budget, cooldown); kept so the digest can count what was held."""
    alert.status = AlertStatus.SUPPRESSED
    alert.last_error = reason


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
