"""Weekly digests; unique per (week, channel) so a rerun of the weekly job posts nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.enums import DigestStatus


class Digest(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("week", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10))  # ISO week, e.g. "2025-W07"
    channel: Mapped[str] = mapped_column(String(100))
    status: Mapped[DigestStatus] = mapped_column(default=DigestStatus.PENDING)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
