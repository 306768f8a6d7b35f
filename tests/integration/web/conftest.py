"""Fixtures of the review-UI tests: a seeded SQLite database and the app behind the ASGI test client."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import storage
from tests.integration.web.seed import NOW, PASSWORD, Seeded, seed_queue
from vocwatch.web import LockoutPolicy, WebConfig, create_app

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


@pytest.fixture
def web(migrated_sqlite_url: str) -> Iterator[Web]:
    engine = storage.make_engine(migrated_sqlite_url)
    sessions = storage.make_session_factory(engine)
    seeded = seed_queue(sessions)
    clock = Clock(NOW)
    config = WebConfig(
        secret_key="test-secret-" + "x" * 32,
        lockout=LockoutPolicy(
            free_attempts=3, base_lock=timedelta(seconds=30), max_lock=timedelta(minutes=10)
        ),
        page_size=2,
        review_base_url="https://review.example.com",
        clock=clock,
    )
    app = create_app(config, sessions)
    clients: list[TestClient] = []

    def new_client() -> TestClient:
        # https: the session cookie is Secure, so the client only sends it back over https.
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        clients.append(client)
        return client

    yield Web(sessions=sessions, seeded=seeded, clock=clock, client=new_client)
    for client in clients:
        client.close()
    engine.dispose()
