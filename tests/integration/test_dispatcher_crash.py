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
from tests.support.dispatch_crash import DRIVER, STUCK_AFTER_S, SlowSlack, outstanding

pytestmark = pytest.mark.slow  # a kill loop: the dispatcher process started and SIGKILLed again and again

ALERTS = 30


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
