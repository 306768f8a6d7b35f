"""Fixtures of the review-UI tests: a seeded SQLite database and the app behind the ASGI test client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

import storage
from tests.support.web_client import Clock, Web
from tests.support.web_seed import NOW, seed_queue
from vocwatch.web import LockoutPolicy, WebConfig, create_app


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
