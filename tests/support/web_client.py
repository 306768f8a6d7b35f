"""The review UI through the ASGI test client: a movable clock, logging in by the form, CSRF tokens.

`Web` bundles what the `web` fixture (tests/integration/web/conftest.py) builds: the session factory, the
seeded rows, the clock and a factory of clients, each with its own cookie jar.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.support.web_seed import PASSWORD, Seeded

__all__ = ["Clock", "Web", "csrf_of", "log_in"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """A clock the test moves forward (lockout expiry) instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Web:
    sessions: sessionmaker[Session]
    seeded: Seeded
    clock: Clock
    client: Callable[[], TestClient]

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        """A client logged in as `username` (each call a separate browser: own cookie jar)."""
        return log_in(self.client(), username, password)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Log `client` in through the login form, as a browser does (one argon2 verification); returns it."""
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_of(client, "/login")}
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient, path: str) -> str:
    """The CSRF token a page's forms carry (the session's token)."""
    found = _CSRF.search(client.get(path).text)
    assert found is not None, f"no CSRF token on {path}"
    return found.group(1)
