"""The Slack outbox and the incidents that group related negative mentions into one thread."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, BigId, utcnow
from storage.enums import AlertAction, AlertKind, AlertStatus, IncidentStatus
from storage.models.mentions import Mention


class Incident(Base):
    """Related negative mentions shown as ONE Slack thread; `slack_ts` is the thread's parent message."""

    __tablename__ = "incidents"
    __table_args__ = (
        # "the open incident for this key" when a new mention arrives.
        Index("ix_incidents_key_status", "key", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    status: Mapped[IncidentStatus] = mapped_column(default=IncidentStatus.OPEN)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"))
    channel: Mapped[str] = mapped_column(String(100))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    # Set by the dispatcher with `slack_ts` when the parent is posted: replies and chat.update need the ID.
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    mention_count: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime]
    last_mention_at: Mapped[datetime]
    # Growth state shown in the parent (new, growing, critical, quiet, resolved; notifier.incidents).
    state: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    # The mention that opened the incident: its quote, link and case make up the parent message.
    mention_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("mentions.id"))
    # notifier.incidents.IncidentStats as JSON: count, reach, p_negative history, grouping keys.
    stats: Mapped[dict[str, Any] | None]
    resolved_at: Mapped[datetime | None]


class Alert(Base):
    """A message owed to a Slack channel, written in the same transaction as its cause (outbox pattern).

    `dedup_key` is unique, so the same mention or spike can never be queued twice; `slack_ts` and
    `slack_channel_id` are remembered so that a restart reconciles instead of re-posting.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        # The dispatcher's query: WHERE status = 'pending' AND next_attempt_at <= :now.
        Index("ix_alerts_status_next_attempt_at", "status", "next_attempt_at"),
        # The budget's query: pings to one channel since an hour / a day ago.
        Index("ix_alerts_channel_created_at", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[AlertKind]
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(100))
    status: Mapped[AlertStatus] = mapped_column(default=AlertStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None]
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str]  # plain-text fallback (notifications, screen readers)
    blocks: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    mention_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("mentions.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    action: Mapped[AlertAction] = mapped_column(default=AlertAction.POST, server_default="post")
    # A `suppressed` (held back by the budget) alert points at the message that reported it as held back.
    bundled_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("alerts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime]

    mention: Mapped[Mention | None] = relationship()
    incident: Mapped[Incident | None] = relationship(foreign_keys=[incident_id])
