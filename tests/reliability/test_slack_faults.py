"""Network faults on the Slack side (issue 10, point 2): every alert is retried, then delivered exactly once.

The real Dispatcher and slack_sdk client talk to the fake Slack through a FaultServer that misbehaves on
`chat.postMessage`. Time is a controllable clock that moves 2 s per round (so backoffs and Retry-After
pass without sleeping, while Slack's message timestamps stay within the dispatcher's history margin).
Delivery is counted on the fake Slack, per alert dedup key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

import storage
from notifier.dispatcher import Dispatcher
from storage import models
from storage.enums import AlertKind, AlertStatus
from tests.support.faults import Fault, FaultKind, FaultServer
from vocwatch.testing.fakeslack import FakeSlackServer

ALERTS = 4
POST = "/api/chat.postMessage"
ROUNDS = 40
CLIENT_TIMEOUT_S = 1.0

SAFE_FAULTS = {
    "429": Fault(FaultKind.STATUS, status=429, retry_after="1"),
    "500": Fault(FaultKind.STATUS, status=500),
    "503": Fault(FaultKind.STATUS, status=503, retry_after="2"),
    "reset": Fault(FaultKind.RESET),
    "stall": Fault(FaultKind.STALL, stall_s=CLIENT_TIMEOUT_S * 3),
    "wrong-type": Fault(FaultKind.WRONG_TYPE),
}
# Faults after which Slack HAS stored the message but the client never learns it: only a dispatcher that
# reconciles ambiguous failures against Slack's history (instead of re-posting) delivers exactly once.
AMBIGUOUS_FAULTS = {
    "lost-reply": Fault(FaultKind.LOST_REPLY),
    "truncated-reply": Fault(FaultKind.TRUNCATED),
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def slack_behind_faults() -> Iterator[tuple[FakeSlackServer, FaultServer]]:
    with FakeSlackServer(channels=("cx",)) as slack, FaultServer(upstream=slack.url) as proxy:
        yield slack, proxy


def deliver_through(url: str, proxy: FaultServer, fault: Fault, *, times: int) -> list[models.Alert]:
    """Enqueue ALERTS alerts, inject the fault on the next `times` posts, run the dispatcher to the end."""
    engine = storage.make_engine(url)
    sessions = storage.make_session_factory(engine)
    clock = Clock()
    with sessions.begin() as session:
        for i in range(ALERTS):
            storage.alerts.enqueue_alert(
                session,
                kind=AlertKind.MENTION,
                dedup_key=f"mention:{i}",
                channel="#cx",
                text=f"alert {i}",
                blocks=[],
                now=clock(),
            )
    proxy.inject(POST, fault, times=times)
    client = WebClient(token="xoxb-test", base_url=proxy.base_url + "/api/", timeout=CLIENT_TIMEOUT_S)
    dispatcher = Dispatcher(client, sessions, clock=clock, backoff_base_s=1.0, stuck_after_s=1.0)
    try:
        for _ in range(ROUNDS):
            dispatcher.reconcile_sending()
            dispatcher.dispatch_due(limit=ALERTS)
            clock.advance(2.0)
            with sessions() as session:
                alerts = list(session.scalars(select(models.Alert).order_by(models.Alert.id)))
            if all(alert.status == AlertStatus.SENT for alert in alerts):
                return alerts
        raise AssertionError(
            f"not delivered after {ROUNDS} rounds: {[(a.status, a.last_error) for a in alerts]}"
        )
    finally:
        engine.dispose()


def delivered(slack: FakeSlackServer) -> Counter[str]:
    return Counter(
        str((message.metadata or {}).get("event_payload", {}).get("dedup_key"))
        for message in slack.messages("cx")
    )


@pytest.mark.parametrize("name", sorted(SAFE_FAULTS))
def test_alerts_survive_a_failing_slack_and_arrive_exactly_once(
    name: str, migrated_sqlite_url: str, slack_behind_faults: tuple[FakeSlackServer, FaultServer]
) -> None:
    slack, proxy = slack_behind_faults
    alerts = deliver_through(migrated_sqlite_url, proxy, SAFE_FAULTS[name], times=3)

    assert len(proxy.hits_for(POST)) >= ALERTS + 3  # the faults were met, and retried past
    assert delivered(slack) == Counter({f"mention:{i}": 1 for i in range(ALERTS)})
    assert {alert.slack_ts for alert in alerts} == {m.ts for m in slack.messages("cx")}


@pytest.mark.parametrize("name", sorted(AMBIGUOUS_FAULTS))
def test_a_reply_lost_after_slack_stored_the_message_is_not_posted_twice(
    name: str, migrated_sqlite_url: str, slack_behind_faults: tuple[FakeSlackServer, FaultServer]
) -> None:
    slack, proxy = slack_behind_faults
    deliver_through(migrated_sqlite_url, proxy, AMBIGUOUS_FAULTS[name], times=2)

    assert delivered(slack) == Counter({f"mention:{i}": 1 for i in range(ALERTS)})
