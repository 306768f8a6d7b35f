"""The dispatcher against a real migrated database and the fake Slack server over HTTP.

Each test asserts what reached Slack (the exact chat.postMessage requests) and what the outbox rows say
afterwards. Runs on SQLite and PostgreSQL (`db_url` is parametrised).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier.blocks import MentionMessage, build_mention_blocks, build_mention_fallback
from notifier.dispatcher import Dispatcher
from storage import alerts as outbox
from storage.enums import AlertKind, AlertStatus
from storage.models import Alert
from tests.support.alerting import Crash, crash_after
from vocwatch.testing.fakeslack import FakeSlackServer

HOSTILE = "<!channel> my parcel never came & <@U123> ignored me <http://evil.example|refund>"


@dataclass
class Clock:
    """A controllable clock, starting at the real time so Slack timestamps and ours are comparable."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(db_url)
    try:
        yield storage.make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def dispatcher(slack_client: WebClient, sessions: sessionmaker[Session], clock: Clock) -> Dispatcher:
    return Dispatcher(slack_client, sessions, clock=clock, backoff_base_s=10, max_attempts=3)


def enqueue(
    sessions: sessionmaker[Session],
    clock: Clock,
    key: str,
    *,
    channel: str = "#cx-alerts",
    text: str = HOSTILE,
) -> int:
    card = MentionMessage(
        quote=text,
        url=f"https://reviews.example/{key}",
        source="acme-reviews",
        label="negative",
        confidence=0.91,
        touchpoint="delivery",
    )
    with sessions.begin() as session:
        alert_id = outbox.enqueue_alert(
            session,
            kind=AlertKind.MENTION,
            dedup_key=key,
            channel=channel,
            text=build_mention_fallback(card),
            blocks=build_mention_blocks(card),
            now=clock(),
        )
    assert alert_id is not None
    return alert_id


def row(sessions: sessionmaker[Session], alert_id: int) -> Alert:
    with sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert


def post_calls(fake_slack: FakeSlackServer) -> list[dict[str, Any]]:
    return [r.args for r in fake_slack.calls("chat.postMessage")]


def test_dispatch_posts_each_due_alert_once_and_records_ts(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    first = enqueue(sessions, clock, "mention:1")
    second = enqueue(sessions, clock, "mention:2", channel="#pr-alerts")

    result = dispatcher.dispatch_due(limit=10)

    assert (result.claimed, result.sent, result.failed, result.retried) == (2, 2, 0, 0)
    calls = post_calls(fake_slack)
    assert len(calls) == 2
    assert [c["channel"] for c in calls] == ["#cx-alerts", "#pr-alerts"]
    assert [c["metadata"] for c in calls] == [
        {"event_type": "vocwatch_alert", "event_payload": {"dedup_key": "mention:1", "alert_id": first}},
        {"event_type": "vocwatch_alert", "event_payload": {"dedup_key": "mention:2", "alert_id": second}},
    ]
    quote = calls[0]["blocks"][1]["text"]["text"]
    assert quote == (
        ">&lt;!channel&gt; my parcel never came &amp; &lt;@U123&gt; ignored me "
        "&lt;http://evil.example|refund&gt;"
    )
    assert html.unescape(quote[1:]) == HOSTILE
    assert "&lt;!channel&gt;" in calls[0]["text"]
    assert "<!channel>" not in calls[0]["text"]

    stored = fake_slack.messages()
    for alert_id, message, channel in zip((first, second), stored, ("cx-alerts", "pr-alerts"), strict=True):
        alert = row(sessions, alert_id)
        assert alert.status == AlertStatus.SENT
        assert alert.slack_ts == message.ts
        assert alert.slack_channel_id == message.channel_id == fake_slack.channel_id(channel)
        assert alert.sent_at == clock()
        assert alert.attempts == 1
        assert alert.last_error is None

    again = dispatcher.dispatch_due(limit=10)
    assert again.claimed == 0
    assert len(fake_slack.calls("chat.postMessage")) == 2


def test_dispatch_waits_retry_after_when_rate_limited(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    first = enqueue(sessions, clock, "mention:1")
    second = enqueue(sessions, clock, "mention:2")  # same channel: must wait too, without a request
    fake_slack.rate_limit_next("chat.postMessage", retry_after=30)

    result = dispatcher.dispatch_due()

    assert (result.claimed, result.sent, result.rate_limited) == (2, 0, 2)
    assert len(fake_slack.calls("chat.postMessage")) == 1
    for alert_id in (first, second):
        alert = row(sessions, alert_id)
        assert alert.status == AlertStatus.PENDING
        assert alert.next_attempt_at == clock() + timedelta(seconds=30)
        assert alert.attempts == 0  # a rate limit does not use up the alert's attempts
        assert alert.last_error == "ratelimited"

    clock.advance(29)
    assert dispatcher.dispatch_due().claimed == 0
    assert len(fake_slack.calls("chat.postMessage")) == 1

    clock.advance(1)
    later = dispatcher.dispatch_due()
    assert later.sent == 2
    assert len(fake_slack.calls("chat.postMessage")) == 3
    assert row(sessions, first).status == row(sessions, second).status == AlertStatus.SENT


def test_rate_limit_in_one_channel_does_not_hold_up_another(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    limited = enqueue(sessions, clock, "mention:1", channel="#cx-alerts")
    other = enqueue(sessions, clock, "mention:2", channel="#pr-alerts")
    fake_slack.rate_limit_next("chat.postMessage", retry_after=5, channel="#cx-alerts")

    result = dispatcher.dispatch_due()

    assert (result.sent, result.rate_limited) == (1, 1)
    assert row(sessions, limited).status == AlertStatus.PENDING
    assert row(sessions, other).status == AlertStatus.SENT


def test_client_retry_handler_absorbs_a_short_rate_limit(
    fake_slack: FakeSlackServer, migrated_sqlite_url: str, clock: Clock
) -> None:
    """The composition root's client setup: one 429 of 1 s is retried inside the SDK call.

    This is about the client, not the database, so it runs on SQLite only (it waits the 1 s).
    """
    engine = storage.make_engine(migrated_sqlite_url)
    sessions = storage.make_session_factory(engine)
    client = WebClient(
        token="xoxb-test",
        base_url=fake_slack.base_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    alert_id = enqueue(sessions, clock, "mention:1")
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1)

    result = Dispatcher(client, sessions, clock=clock).dispatch_due()

    assert result.sent == 1
    assert [r.status for r in fake_slack.calls("chat.postMessage")] == [429, 200]
    assert row(sessions, alert_id).status == AlertStatus.SENT
    engine.dispose()


def test_channel_not_found_fails_one_alert_while_another_channel_is_delivered(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    fake_slack.auto_create_channels = False
    fake_slack.add_channel("cx-alerts")
    broken = enqueue(sessions, clock, "mention:1", channel="#no-such-channel")
    healthy = enqueue(sessions, clock, "mention:2", channel="#cx-alerts")

    result = dispatcher.dispatch_due()

    assert (result.sent, result.failed, result.retried) == (1, 1, 0)
    assert [(f.alert_id, f.channel, f.error, f.needs_operator) for f in result.failures] == [
        (broken, "#no-such-channel", "channel_not_found", True)
    ]
    failed = row(sessions, broken)
    assert failed.status == AlertStatus.FAILED
    assert failed.last_error == "channel_not_found"
    assert failed.slack_ts is None
    assert row(sessions, healthy).status == AlertStatus.SENT

    clock.advance(3600)
    assert dispatcher.dispatch_due().claimed == 0
    assert len(fake_slack.calls("chat.postMessage")) == 2


def test_a_broken_channel_is_logged_once_per_batch_not_once_per_alert(
    dispatcher: Dispatcher,
    sessions: sessionmaker[Session],
    clock: Clock,
    fake_slack: FakeSlackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.auto_create_channels = False
    for i in range(3):
        enqueue(sessions, clock, f"mention:{i}", channel="#no-such-channel")

    with caplog.at_level(logging.ERROR, logger="notifier.dispatcher"):
        result = dispatcher.dispatch_due()

    assert result.failed == 3
    assert len(fake_slack.calls("chat.postMessage")) == 3
    errors = [r for r in caplog.records if r.name == "notifier.dispatcher" and r.levelno == logging.ERROR]
    assert len(errors) == 1


@pytest.mark.parametrize("error", ["invalid_auth", "not_in_channel", "is_archived"])
def test_permanent_errors_fail_without_retrying(
    error: str,
    dispatcher: Dispatcher,
    sessions: sessionmaker[Session],
    clock: Clock,
    fake_slack: FakeSlackServer,
) -> None:
    alert_id = enqueue(sessions, clock, "mention:1")
    fake_slack.fail_next("chat.postMessage", error)

    assert dispatcher.dispatch_due().failed == 1

    alert = row(sessions, alert_id)
    assert (alert.status, alert.last_error) == (AlertStatus.FAILED, error)
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_server_errors_back_off_exponentially_then_fail(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    alert_id = enqueue(sessions, clock, "mention:1")
    fake_slack.server_error_next("chat.postMessage", status=503, times=10)

    assert dispatcher.dispatch_due().retried == 1
    alert = row(sessions, alert_id)
    assert (alert.status, alert.attempts) == (AlertStatus.PENDING, 1)
    assert alert.next_attempt_at == clock() + timedelta(seconds=10)
    assert alert.last_error is not None and alert.last_error.startswith("HTTP 503")

    clock.advance(10)
    assert dispatcher.dispatch_due().retried == 1
    assert row(sessions, alert_id).next_attempt_at == clock() + timedelta(seconds=20)

    clock.advance(20)
    result = dispatcher.dispatch_due()
    assert result.failed == 1
    alert = row(sessions, alert_id)
    assert alert.status == AlertStatus.FAILED
    assert alert.attempts == 3
    assert alert.last_error is not None and "gave up after 3 attempts" in alert.last_error
    assert len(fake_slack.calls("chat.postMessage")) == 3


def test_a_dropped_connection_is_checked_against_the_channel_before_it_is_posted_again(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    """A connection lost after sending may or may not have posted: never re-post blindly (not even by
    slack_sdk's own connection retry, which the dispatcher switches off); reconcile, then re-post."""
    alert_id = enqueue(sessions, clock, "mention:1")
    fake_slack.disconnect_next("chat.postMessage")

    assert dispatcher.dispatch_due().retried == 1
    assert row(sessions, alert_id).status == AlertStatus.SENDING  # outcome unknown
    assert [r.status for r in fake_slack.calls("chat.postMessage")] == [0]  # no SDK-level re-post

    clock.advance(121)  # past stuck_after_s: the channel shows no such message, so it is requeued
    assert dispatcher.reconcile_sending().requeued == 1
    assert dispatcher.dispatch_due().sent == 1
    assert [r.status for r in fake_slack.calls("chat.postMessage")] == [0, 200]
    assert len(fake_slack.messages()) == 1


def test_invalid_blocks_fall_back_to_plain_text(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    alert_id = enqueue(sessions, clock, "mention:1")
    fake_slack.fail_next("chat.postMessage", "invalid_blocks")

    assert dispatcher.dispatch_due().sent == 1

    first, second = post_calls(fake_slack)
    assert "blocks" in first
    assert "blocks" not in second
    assert second["text"] == first["text"]
    alert = row(sessions, alert_id)
    assert alert.status == AlertStatus.SENT
    assert alert.last_error is not None and alert.last_error.startswith("sent as plain text: invalid_blocks")


def test_invalid_blocks_twice_fails_with_slack_reason(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    alert_id = enqueue(sessions, clock, "mention:1")
    fake_slack.fail_next("chat.postMessage", "invalid_blocks", times=2)

    assert dispatcher.dispatch_due().failed == 1

    alert = row(sessions, alert_id)
    assert alert.status == AlertStatus.FAILED
    assert alert.last_error is not None and alert.last_error.startswith("invalid_blocks: ")
    assert len(fake_slack.calls("chat.postMessage")) == 2


def test_alert_left_sending_whose_message_exists_is_reconciled_without_repost(
    slack_client: WebClient, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    alert_id = enqueue(sessions, clock, "mention:1")
    dying = Dispatcher(slack_client, sessions, clock=crash_after(2, clock))
    with pytest.raises(Crash):
        dying.dispatch_due()  # claimed and posted, then died before recording the ts
    assert row(sessions, alert_id).status == AlertStatus.SENDING
    [posted] = fake_slack.messages()

    restarted = Dispatcher(slack_client, sessions, clock=clock, stuck_after_s=120)
    assert restarted.reconcile_sending().confirmed == 0  # too fresh: a live dispatcher may be posting
    assert row(sessions, alert_id).status == AlertStatus.SENDING

    clock.advance(121)
    result = restarted.reconcile_sending()

    assert (result.confirmed, result.requeued, result.unresolved) == (1, 0, 0)
    alert = row(sessions, alert_id)
    assert alert.status == AlertStatus.SENT
    assert alert.slack_ts == posted.ts
    assert alert.slack_channel_id == posted.channel_id
    # The channel was configured by name: the restarted dispatcher looked its ID up, then the history.
    assert len(fake_slack.calls("conversations.list")) == 1
    [history] = fake_slack.calls("conversations.history")
    assert history.args["channel"] == posted.channel_id
    assert restarted.dispatch_due().claimed == 0
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_alert_left_sending_whose_message_is_missing_is_sent_exactly_once(
    slack_client: WebClient, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")
    lost = enqueue(sessions, clock, "mention:1", channel=channel_id)
    # Another of our alerts is in the channel already: its metadata must not be mistaken for this one.
    fake_slack.post_message(
        channel_id,
        "older alert",
        metadata={"event_type": "vocwatch_alert", "event_payload": {"dedup_key": "mention:0"}},
    )
    with sessions.begin() as session:  # transaction 1 committed, then the process died
        for alert in outbox.claim_due(session, now=clock(), limit=10):
            outbox.mark_sending(alert, now=clock())

    clock.advance(300)
    restarted = Dispatcher(slack_client, sessions, clock=clock)
    result = restarted.reconcile_sending()

    assert (result.confirmed, result.requeued) == (0, 1)
    assert row(sessions, lost).status == AlertStatus.PENDING
    assert fake_slack.calls("chat.postMessage") == []
    assert fake_slack.calls("conversations.list") == []  # an ID needs no lookup

    assert restarted.dispatch_due().sent == 1
    assert restarted.reconcile_sending() == type(result)()
    assert restarted.dispatch_due().claimed == 0
    calls = post_calls(fake_slack)
    assert len(calls) == 1
    assert calls[0]["metadata"]["event_payload"]["dedup_key"] == "mention:1"
    alert = row(sessions, lost)
    assert alert.status == AlertStatus.SENT
    assert alert.attempts == 2  # the interrupted attempt counts


def test_reconcile_leaves_alerts_sending_when_slack_cannot_be_asked(
    slack_client: WebClient, sessions: sessionmaker[Session], clock: Clock, fake_slack: FakeSlackServer
) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")
    alert_id = enqueue(sessions, clock, "mention:1", channel=channel_id)
    with sessions.begin() as session:
        for alert in outbox.claim_due(session, now=clock(), limit=10):
            outbox.mark_sending(alert, now=clock())
    clock.advance(300)
    fake_slack.server_error_next("conversations.history")

    restarted = Dispatcher(slack_client, sessions, clock=clock)
    assert restarted.reconcile_sending().unresolved == 1
    assert row(sessions, alert_id).status == AlertStatus.SENDING

    assert restarted.reconcile_sending().requeued == 1
    assert row(sessions, alert_id).status == AlertStatus.PENDING
