"""The dispatcher as a process to kill: the real `Dispatcher` in `python -c DRIVER`, a slow fake Slack.

Used by the dispatcher crash test (tests/integration) and the dispatcher kill loop (tests/reliability).
"""

from __future__ import annotations

import time

from sqlalchemy import select

import storage
from storage import models
from storage.enums import AlertStatus
from vocwatch.testing.fakeslack import FakeSlackServer, RecordedRequest

__all__ = ["DRIVER", "POST_DELAY_S", "STUCK_AFTER_S", "SlowSlack", "outstanding"]

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


def outstanding(url: str) -> list[models.Alert]:
    engine = storage.make_engine(url)
    try:
        with storage.make_session_factory(engine)() as session:
            return list(session.scalars(select(models.Alert).where(models.Alert.status != AlertStatus.SENT)))
    finally:
        engine.dispose()
