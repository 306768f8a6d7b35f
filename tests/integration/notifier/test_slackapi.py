"""`notifier.slackapi` against the fake Slack over HTTP: channel lookup, history and thread scans, errors.

The dispatcher and the digest both build their crash recovery on these calls, so they are pinned here
once: which requests reach Slack, how paging ends, and how each kind of failure is classified.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from notifier import slackapi
from notifier.slackapi import ErrorKind
from tests.support.faults import Fault, FaultKind, FaultServer
from vocwatch.testing.fakeslack import FakeSlackServer

ALERT = "vocwatch_alert"
PAGE = 200  # what slackapi asks for per page


def test_a_channel_id_is_used_as_is_without_asking_slack(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    assert slackapi.resolve_channel_id(slack_client, "C0123456789") == "C0123456789"
    assert fake_slack.requests == []


@pytest.mark.parametrize("name", ["cx-private", "#cx-private"])
def test_a_channel_name_is_found_on_a_later_page_of_conversations_list(
    fake_slack: FakeSlackServer, slack_client: WebClient, name: str
) -> None:
    for i in range(PAGE):
        fake_slack.add_channel(f"filler-{i}")
    channel_id = fake_slack.add_channel("cx-private", channel_id="G0PRIVATE01")

    assert slackapi.resolve_channel_id(slack_client, name) == channel_id
    lists = fake_slack.calls("conversations.list")
    assert [call.args.get("cursor") is None for call in lists] == [True, False]
    assert {call.args["types"] for call in lists} == {"public_channel,private_channel"}


def test_an_unknown_name_is_none_after_the_last_page_or_the_page_budget(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    for i in range(PAGE + 1):
        fake_slack.add_channel(f"filler-{i}")

    assert slackapi.find_channel_id(slack_client, "#nowhere") is None
    assert len(fake_slack.calls("conversations.list")) == 2

    fake_slack.clear_requests()
    assert slackapi.find_channel_id(slack_client, "filler-200", max_pages=1) is None
    assert len(fake_slack.calls("conversations.list")) == 1


def test_a_short_upper_case_channel_is_looked_up_as_a_name(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    assert slackapi.resolve_channel_id(slack_client, "C1") is None
    assert len(fake_slack.calls("conversations.list")) == 1
    assert fake_slack.calls("conversations.history") == []


def test_history_pages_through_the_channel_newest_first_with_metadata(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")
    posted = [
        fake_slack.post_message(
            channel_id, f"alert {i}", metadata={"event_type": ALERT, "event_payload": {"dedup_key": str(i)}}
        )
        for i in range(PAGE + 5)
    ]

    messages = list(slackapi.channel_history(slack_client, channel_id))

    assert [m["ts"] for m in messages] == [p.ts for p in reversed(posted)]
    assert [slackapi.metadata_payload(m, ALERT) for m in messages[:2]] == [
        {"dedup_key": str(PAGE + 4)},
        {"dedup_key": str(PAGE + 3)},
    ]
    assert slackapi.metadata_payload(messages[0], "vocwatch_digest") is None
    assert len(fake_slack.calls("conversations.history")) == 2


def test_history_since_oldest_leaves_out_that_message_and_older_ones(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")
    before = fake_slack.post_message(channel_id, "before")
    after = fake_slack.post_message(channel_id, "after")

    oldest = datetime.fromtimestamp(float(before.ts), UTC)
    messages = list(slackapi.channel_history(slack_client, channel_id, oldest=oldest))

    assert [m["text"] for m in messages] == [after.text]
    [call] = fake_slack.calls("conversations.history")
    assert call.args["oldest"] == before.ts


def test_an_html_error_page_in_the_middle_of_a_scan_is_a_transient_slack_error(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    # slack_sdk's own paging would raise a bare JSONDecodeError here; callers must get a SlackApiError.
    channel_id = fake_slack.add_channel("cx-alerts")
    for i in range(PAGE + 1):
        fake_slack.post_message(channel_id, f"alert {i}")
    messages = slackapi.channel_history(slack_client, channel_id)
    first_page = [next(messages) for _ in range(PAGE)]
    fake_slack.server_error_next("conversations.history", status=503)

    with pytest.raises(SlackApiError) as failed:
        next(messages)

    assert len(first_page) == PAGE
    assert failed.value.response.status_code == 503
    assert slackapi.classify_error(failed.value) is ErrorKind.TRANSIENT


def test_thread_replies_are_the_parent_and_its_replies_oldest_first(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    channel_id = fake_slack.add_channel("cx-alerts")
    parent = fake_slack.post_message(channel_id, "incident")
    replies = [
        fake_slack.post_message(
            channel_id,
            f"update {i}",
            thread_ts=parent.ts,
            metadata={"event_type": ALERT, "event_payload": {"dedup_key": f"reply:{i}"}},
        )
        for i in range(2)
    ]
    fake_slack.post_message(channel_id, "unrelated")

    messages = list(slackapi.thread_replies(slack_client, channel_id, parent.ts))

    assert [m["ts"] for m in messages] == [parent.ts, *(r.ts for r in replies)]
    assert [slackapi.metadata_payload(m, ALERT) for m in messages] == [
        None,
        {"dedup_key": "reply:0"},
        {"dedup_key": "reply:1"},
    ]


Script = Callable[[FakeSlackServer], None]


@pytest.mark.parametrize(
    ("script", "kind", "reason"),
    [
        (
            lambda s: s.fail_next("chat.postMessage", "channel_not_found"),
            ErrorKind.SETUP,
            "channel_not_found",
        ),
        (lambda s: s.fail_next("chat.postMessage", "missing_scope"), ErrorKind.SETUP, "missing_scope"),
        (lambda s: s.fail_next("chat.postMessage", "internal_error"), ErrorKind.TRANSIENT, "internal_error"),
        (lambda s: s.server_error_next("chat.postMessage"), ErrorKind.TRANSIENT, None),
        (
            lambda s: s.rate_limit_next("chat.postMessage", retry_after=3),
            ErrorKind.RATE_LIMITED,
            "ratelimited",
        ),
        (
            lambda s: s.fail_next("chat.postMessage", "invalid_blocks"),
            ErrorKind.REQUEST,
            "invalid_blocks: [ERROR] must be a valid block [json-pointer:/blocks/0]",
        ),
    ],
    ids=["channel", "scope", "internal", "5xx", "429", "blocks"],
)
def test_slack_errors_are_classified_by_what_a_retry_can_achieve(
    fake_slack: FakeSlackServer, slack_client: WebClient, script: Script, kind: ErrorKind, reason: str | None
) -> None:
    script(fake_slack)
    with pytest.raises(SlackApiError) as failed:
        slack_client.chat_postMessage(channel="#cx-alerts", text="hi")

    assert slackapi.classify_error(failed.value) is kind
    if reason is not None:
        assert slackapi.error_reason(failed.value) == reason
    if kind is ErrorKind.RATE_LIMITED:
        assert slackapi.retry_after_s(failed.value.response.headers, default=60.0) == 3.0


def test_a_rejected_token_is_a_setup_error(fake_slack: FakeSlackServer) -> None:
    client = WebClient(token="not-a-token", base_url=fake_slack.base_url, timeout=10)
    with pytest.raises(SlackApiError) as failed:
        slackapi.find_channel_id(client, "cx-alerts")

    assert slackapi.error_code(failed.value) == "invalid_auth"
    assert slackapi.classify_error(failed.value) is ErrorKind.SETUP


def test_a_reply_that_is_not_slacks_json_is_unreadable(fake_slack: FakeSlackServer) -> None:
    with FaultServer(upstream=fake_slack.url) as proxy:
        proxy.inject("/api/chat.postMessage", Fault(FaultKind.WRONG_TYPE), times=1)
        client = WebClient(token="xoxb-test", base_url=proxy.base_url + "/api/", timeout=10)
        with pytest.raises(SlackApiError) as failed:
            client.chat_postMessage(channel="#cx-alerts", text="hi")

    assert failed.value.response.status_code == 200
    assert slackapi.classify_error(failed.value) is ErrorKind.UNREADABLE
