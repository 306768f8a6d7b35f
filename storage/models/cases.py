"""The CX review queue: one case per flagged mention, and the audit trail of what staff did with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, BigId, str_enum, utcnow
from storage.enums import CaseEventKind, CaseStatus, SentimentLabel, Severity
from storage.models.mentions import Mention
from storage.models.users import User


class Case(Base):
    """A flagged mention in the review queue; `mention_id` is unique so a mention is flagged at most once.

    `severity_order` is the severity's position in the queue (`storage.queue.SEVERITY_ORDER`: critical 0,
    warning 1, info 2), so that "most severe, then oldest first" is one ascending index a page can walk and
    stop. The
    `corrected_*` columns are the CX staff's labels, the ground truth for evaluation.
    """

    __tablename__ = "cases"
    __table_args__ = (
        # Open cases by age (dashboard): WHERE status IN (...) AND created_at ...
        Index("ix_cases_status_created_at", "status", "created_at"),
        # The queue page: ORDER BY severity_order, created_at, id LIMIT 50, walked in index order.
        Index("ix_cases_severity_order_created_at", "severity_order", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mentions.id"), unique=True)
    status: Mapped[CaseStatus] = mapped_column(default=CaseStatus.OPEN)
    reason: Mapped[str] = mapped_column(String(64))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, length=16))
    severity_order: Mapped[int] = mapped_column(SmallInteger, default=9, server_default="9")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why it was resolved or dismissed ("fixed", "spam", "not_our_brand", ...); NULL while active.
    resolution: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    corrected_label: Mapped[SentimentLabel | None]
    corrected_topics: Mapped[list[str] | None] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    corrected_touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"))
    # Set by any correction: `list_corrections` reads the cases that have one.
    corrected_at: Mapped[datetime | None] = mapped_column(index=True)

    mention: Mapped[Mention] = relationship()
    assignee: Mapped[User | None] = relationship()
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")


class CaseEvent(Base):
    """One thing that happened to a case (opened, assigned, label corrected...): the audit trail."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[CaseEventKind]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="events")
