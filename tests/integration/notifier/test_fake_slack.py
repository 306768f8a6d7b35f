"""The fake Slack server speaks the Web API the way `slack_sdk.WebClient` and our code rely on.

These tests pin the behaviour the dispatcher tests (and `vocwatch demo`) build on: response shapes like
Slack's recorded ones, Slack's channel-ID rules, history order/pagination/metadata, file upload v2, and
scripted failures that hit exactly the calls they were meant for.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from vocwatch.testing.fakeslack import FakeSlackServer

META = {"event_type": "vocwatch_alert", "event_payload": {"dedup_key": "mention:1"}}


def error_of(call: object) -> tuple[int, dict[str, object]]:
    assert isinstance(call, SlackApiError)
    data = call.response.data
    assert isinstance(data, dict)
    return call.response.status_code, data


def test_server_binds_a_free_local_port_and_stops(fake_slack: FakeSlackServer) -> None:
    assert fake_slack.base_url.startswith("http://127.0.0.1:")
    assert fake_slack.base_url.endswith("/api/")
    with FakeSlackServer() as other:
        assert other.base_url != fake_slack.base_url
        url = other.base_url
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "auth.test", timeout=2)


def test_auth_test_and_token_checks(fake_slack: FakeSlackServer, slack_client: WebClient) -> None:
    assert slack_client.auth_test()["user_id"] == "U0FAKE0001"
    with pytest.raises(SlackApiError) as bad:
        WebClient(token="not-a-token", base_url=fake_slack.base_url).auth_test()
    assert error_of(bad.value) == (200, {"ok": False, "error": "invalid_auth"})
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake_slack.base_url).auth_test()
    assert error_of(missing.value)[1]["error"] == "not_authed"
    assert [r.token for r in fake_slack.calls("auth.test")] == ["xoxb-test", "not-a-token", None]


def test_post_message_returns_ts_and_channel_id_and_stores_everything(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "&lt;!channel&gt;"}}]
    first = slack_client.chat_postMessage(channel="#alerts", text="fallback", blocks=blocks, metadata=META)
    second = slack_client.chat_postMessage(channel="alerts", text="reply", thread_ts=first["ts"])

    channel_id = fake_slack.channel_id("alerts")
    assert first["channel"] == second["channel"] == channel_id
    assert first["ts"] < second["ts"]
    assert first["message"]["blocks"] == blocks
    assert first["message"]["bot_id"] == "B0FAKE0001"
    parent, reply = fake_slack.messages("#alerts")
    assert (parent.text, parent.blocks, parent.metadata) == ("fallback", blocks, META)
    assert reply.thread_ts == parent.ts
    [request] = fake_slack.calls("chat.postMessage")[:1]
    assert request.headers["content-type"] == "application/json;charset=utf-8"
    assert request.json["metadata"] == META


def test_form_encoded_arguments_are_decoded_like_json(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    blocks = [{"type": "divider"}]
    slack_client.api_call(
        "chat.postMessage", data={"channel": "general", "text": "hi", "blocks": json.dumps(blocks)}
    )
    [request] = fake_slack.calls("chat.postMessage")
    assert request.args["blocks"] == blocks
    assert fake_slack.messages("general")[0].blocks == blocks


def test_json_without_charset_gets_slacks_warning(fake_slack: FakeSlackServer) -> None:
    body = json.dumps({"channel": "general", "text": "hi"}).encode()
    request = urllib.request.Request(
        fake_slack.base_url + "chat.postMessage",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-test"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer["ok"] is True
    assert answer["warning"] == "missing_charset"
    assert answer["response_metadata"] == {"warnings": ["missing_charset"]}


def test_block_limits_are_enforced_like_slack(slack_client: WebClient) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as err:
        slack_client.chat_postMessage(channel="general", text="t", blocks=too_long)
    status, data = error_of(err.value)
    assert status == 200
    assert data["error"] == "invalid_blocks"
    assert data["errors"] == ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    assert data["response_metadata"] == {
        "messages": ["[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    }
    with pytest.raises(SlackApiError) as empty:
        slack_client.api_call("chat.postMessage", json={"channel": "general"})  # the SDK warns on no text
    assert error_of(empty.value)[1]["error"] == "no_text"


def test_unknown_channels_are_created_by_name_but_never_by_id(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    slack_client.chat_postMessage(channel="#brand-new", text="hi")
    assert "brand-new" in [c.name for c in fake_slack.channels()]
    with pytest.raises(SlackApiError) as by_id:
        slack_client.chat_postMessage(channel="C99999999", text="hi")
    assert error_of(by_id.value)[1] == {"ok": False, "error": "channel_not_found"}
    fake_slack.auto_create_channels = False
    with pytest.raises(SlackApiError) as by_name:
        slack_client.chat_postMessage(channel="#other", text="hi")
    assert error_of(by_name.value)[1]["error"] == "channel_not_found"


def test_update_and_history_need_a_channel_id(fake_slack: FakeSlackServer, slack_client: WebClient) -> None:
    posted = slack_client.chat_postMessage(channel="general", text="3 mentions")
    with pytest.raises(SlackApiError) as by_name:
        slack_client.chat_update(channel="general", ts=posted["ts"], text="4 mentions")
    assert error_of(by_name.value)[1]["error"] == "channel_not_found"

    updated = slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="4 mentions")
    assert updated["message"]["text"] == "4 mentions"
    assert "edited" in updated["message"]
    assert fake_slack.messages("general")[0].text == "4 mentions"
    with pytest.raises(SlackApiError) as missing:
        slack_client.chat_update(channel=posted["channel"], ts="1.000001", text="x")
    assert error_of(missing.value)[1]["error"] == "message_not_found"


def test_history_is_newest_first_paginated_and_shows_metadata_on_request(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    channel = fake_slack.channel_id("general")
    posted = [
        slack_client.chat_postMessage(channel=channel, text=f"m{i}", metadata=META)["ts"] for i in range(5)
    ]
    slack_client.chat_postMessage(channel=channel, text="in thread", thread_ts=posted[0])

    page1 = slack_client.conversations_history(channel=channel, limit=3)
    assert [m["ts"] for m in page1["messages"]] == posted[::-1][:3]
    assert page1["has_more"] is True
    assert all("metadata" not in m for m in page1["messages"])
    page2 = slack_client.conversations_history(
        channel=channel, limit=3, cursor=page1["response_metadata"]["next_cursor"], include_all_metadata=True
    )
    assert [m["ts"] for m in page2["messages"]] == posted[::-1][3:]
    assert page2["has_more"] is False
    assert all(m["metadata"] == META for m in page2["messages"])
    assert page2["messages"][-1]["reply_count"] == 1  # the reply stays in its thread

    newer = slack_client.conversations_history(channel=channel, oldest=posted[2])
    assert [m["ts"] for m in newer["messages"]] == posted[:2:-1]
    thread = slack_client.conversations_replies(channel=channel, ts=posted[0])
    assert [m["text"] for m in thread["messages"]] == ["m0", "in thread"]


def test_conversations_list_maps_names_to_ids(fake_slack: FakeSlackServer, slack_client: WebClient) -> None:
    alerts_id = fake_slack.add_channel("cx-alerts")
    listed = slack_client.conversations_list()["channels"]
    assert {c["name"]: c["id"] for c in listed} == {
        "general": fake_slack.channel_id("general"),
        "cx-alerts": alerts_id,
    }


def test_files_upload_v2_delivers_bytes_and_shares_them(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    channel = fake_slack.channel_id("general")
    png = b"\x89PNG\r\n\x1a\nchart"
    result = slack_client.files_upload_v2(
        channel=channel, content=png, filename="week.png", title="Week 12", initial_comment="Digest"
    )
    assert result["file"]["title"] == "Week 12"
    [uploaded] = fake_slack.files
    assert uploaded.content == png
    [message] = fake_slack.messages("general")
    assert message.text == "Digest"
    assert message.files[0]["id"] == uploaded.id
    assert [r.api_method for r in fake_slack.requests] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_scripted_failures_hit_only_their_method_channel_and_count(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    fake_slack.add_channel("other")
    fake_slack.rate_limit_next("chat.postMessage", retry_after=7, channel="#general", times=2)

    assert slack_client.chat_postMessage(channel="other", text="fine")["ok"] is True
    assert slack_client.auth_test()["ok"] is True
    for _ in range(2):
        with pytest.raises(SlackApiError) as limited:
            slack_client.chat_postMessage(channel=fake_slack.channel_id("general"), text="x")
        assert error_of(limited.value) == (429, {"ok": False, "error": "ratelimited"})
        headers = {k.lower(): v for k, v in limited.value.response.headers.items()}
        assert headers["retry-after"] == "7"
    assert slack_client.chat_postMessage(channel="general", text="now fine")["ok"] is True
    assert [r.status for r in fake_slack.calls("chat.postMessage")] == [200, 429, 429, 200]
    # Failed calls never store a message.
    assert [m.text for m in fake_slack.messages()] == ["fine", "now fine"]


def test_posted_texts_read_like_slack_shows_them(
    fake_slack: FakeSlackServer, slack_client: WebClient
) -> None:
    slack_client.chat_postMessage(
        channel="general",
        text="&lt;!channel&gt; late &amp; wet · <https://shop.example/r/1?a=1&amp;b=2|link>",
    )
    assert fake_slack.posted_texts() == ["<!channel> late & wet · link (https://shop.example/r/1?a=1&b=2)"]


def test_server_error_is_an_html_page(fake_slack: FakeSlackServer, slack_client: WebClient) -> None:
    fake_slack.server_error_next("chat.postMessage", status=502)
    with pytest.raises(SlackApiError) as err:
        slack_client.chat_postMessage(channel="general", text="x")
    assert err.value.response.status_code == 502
    assert fake_slack.messages() == []
