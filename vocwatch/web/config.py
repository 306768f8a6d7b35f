"""The review UI's plain-value configuration, built from `WebSettings` by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LockoutPolicy:
    """Wrong passwords allowed before a lock, the first lock's length (doubling after), and the cap."""

    free_attempts: int = 5
    base_lock: timedelta = timedelta(seconds=30)
    max_lock: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class WebConfig:
    """Everything the app needs besides the database: cookie signing, lockout, paging, links, clock."""

    secret_key: str
    secure_cookies: bool = True
    session_max_age_s: int = 12 * 3600
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    page_size: int = 50
    review_base_url: str | None = None
    """Base URL of this UI as Slack users reach it; case replies in Slack link back to the case."""
    clock: Callable[[], datetime] = _utc_now
