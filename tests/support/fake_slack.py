"""Fake Slack fixtures: a real HTTP server speaking the Slack Web API, and a WebClient pointed at it.

The server class lives in `vocwatch.testing` because `vocwatch demo` uses it too; these fixtures only
start and stop it. Tests script failures on the server (`fake_slack.rate_limit_next(...)`) and assert on
what arrived over HTTP (`fake_slack.calls("chat.postMessage")`), never on mocks of our own code.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from vocwatch.testing.fakeslack import FakeSlackServer

FAKE_SLACK_TOKEN = "xoxb-test"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackServer]:
    """A fresh fake Slack workspace on 127.0.0.1 and a free port, stopped after the test."""
    with FakeSlackServer() as server:
        yield server


@pytest.fixture
def slack_client(fake_slack: FakeSlackServer) -> WebClient:
    """A `WebClient` on the fake server, with the SDK's default retry handlers (connection errors only).

    The timeout is short so that a broken fake fails a test in seconds instead of hanging it.
    """
    return WebClient(token=FAKE_SLACK_TOKEN, base_url=fake_slack.base_url, timeout=10)
