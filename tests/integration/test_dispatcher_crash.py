"""Crash safety of the outbox: SIGKILL the dispatcher process mid-run, again and again, against a slow fake
Slack; after restarts every alert has been posted exactly once (counted on the server, per dedup key)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

import storage
from storage import models
from storage.enums import AlertKind, AlertStatus
from vocwatch.testing.fakeslack import FakeSlackServer, RecordedRequest

pytestmark = pytest.mark.integration

ALERTS = 30
STUCK_AFTER_S = 0.5  # the dispatcher's reconcile grace; restarts wait a little longer than this
POST_DELAY_S = 0.15  # Slack stores the message, then answers slowly: the window a kill lands in

# The dispatcher process: the real Dispatcher and slack_sdk client (without the model stack, so it starts
# fast), with a short reconcile grace so that a restart reconciles what the killed run left in `sending`
# (the daemon's default grace is 120 s).
DRIVER = """
import logging
import sys
from slack_sdk import WebClient
import storage
from notifier.dispatcher import Dispatcher

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
url, base_url, stuck_after_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
sessions = storage.make_session_factory(storage.make_engine(url))
client = WebClient(token="xoxb-test", base_url=base_url, timeout=10)
dispatcher = Dispatcher(client, sessions, stuck_after_s=stuck_after_s)
dispatcher.reconcile_sending()
while dispatcher.dispatch_due(limit=5).claimed:
    pass
"""


class SlowSlack(FakeSlackServer):
    """The fake Slack, answering chat.postMessage only `POST_DELAY_S` after it stored the message."""

    def _handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes | None]:
        answer = super()._handle(request)
        if request.api_method == "chat.postMessage":
            time.sleep(POST_DELAY_S)  # bounded: one slow reply
        return answer


def enqueue(url: str) -> None:
    engine = storage.make_engine(url)
    now = datetime.now(UTC)
    with storage.make_session_factory(engine).begin() as session:
        for i in range(ALERTS):
            storage.alerts.enqueue_alert(
                session,
                kind=AlertKind.MENTION,
                dedup_key=f"mention:{i}",
                channel="#cx",
                text=f"alert {i}",
                blocks=[],
                now=now,
            )
    engine.dispose()


def outstanding(url: str) -> list[models.Alert]:
    engine = storage.make_engine(url)
    try:
        with storage.make_session_factory(engine)() as session:
            return list(session.scalars(select(models.Alert).where(models.Alert.status != AlertStatus.SENT)))
    finally:
        engine.dispose()


def test_killing_the_dispatcher_mid_run_neither_loses_nor_doubles_an_alert(
    migrated_sqlite_url: str, tmp_path: Path
) -> None:
    enqueue(migrated_sqlite_url)
    kills = 0
    logs: list[str] = []
    with SlowSlack(channels=("cx",)) as slack:
        deadline = time.monotonic() + 120
        while outstanding(migrated_sqlite_url):
            assert time.monotonic() < deadline, "the dispatcher never finished"
            posts = len(slack.calls("chat.postMessage"))
            process = subprocess.Popen(
                [sys.executable, "-c", DRIVER, migrated_sqlite_url, slack.base_url, str(STUCK_AFTER_S)],
                stderr=subprocess.PIPE,
                text=True,
            )
            # Let it post a few (the last one still waiting for its slow reply), then kill it outright.
            run_deadline = time.monotonic() + 30
            while process.poll() is None and len(slack.calls("chat.postMessage")) < posts + 3:
                assert time.monotonic() < run_deadline, "the dispatcher posted nothing"
                time.sleep(0.01)
            if process.poll() is None:
                process.kill()
                kills += 1
            _, stderr = process.communicate(timeout=30)
            logs.append(stderr)
            assert process.returncode in (0, -9), stderr
            time.sleep(STUCK_AFTER_S + 0.2)  # bounded: past the reconcile grace, as after a real restart

        messages = [
            ((m.metadata or {}).get("event_payload", {}).get("dedup_key"), m.ts) for m in slack.messages("cx")
        ]
        history_lookups = len(slack.calls("conversations.history"))

    assert kills >= 3, kills
    # A kill during a slow reply left a posted alert in `sending`; a restart found it in Slack (no repost).
    assert "was already in Slack" in "".join(logs)
    assert history_lookups >= 1  # restarts reconciled from Slack instead of blindly re-posting
    assert Counter(key for key, _ in messages) == Counter({f"mention:{i}": 1 for i in range(ALERTS)})
    engine = storage.make_engine(migrated_sqlite_url)
    with storage.make_session_factory(engine)() as session:
        recorded = {a.dedup_key: (a.status, a.slack_ts) for a in session.scalars(select(models.Alert))}
    engine.dispose()
    # Each alert remembers the ts of its one message, including those confirmed by reconciliation.
    assert recorded == {key: (AlertStatus.SENT, ts) for key, ts in messages}
