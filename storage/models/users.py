"""Accounts of the review UI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.enums import UserRole


class User(Base):
    """A review-UI account; `failed_logins` and `locked_until` throttle password guessing; bumping
    `session_epoch` ends every login session of the account (storage.users)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(default=UserRole.VIEWER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
