"""The Slack calls of the digest: post the message, upload the chart, and find both after a crash.

No storage here: the caller (`vocwatch.stages.digest`) records each step in the `digests` row before
taking the next, and uses the `find_*` functions when a row says a step may have happened without
being recorded.
The message carries its identity in Slack message metadata (`vocwatch_digest` / `digest_key`), the chart
in its file name, so both can be recognised in the channel history. Reading that history (and finding
a channel's ID for it) is `notifier.slackapi`'s, shared with the alert dispatcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from notifier import slackapi

__all__ = [
    "DIGEST_EVENT_TYPE",
    "Posted",
    "chart_filename",
    "find_chart",
    "find_digest_message",
    "post_digest_message",
    "upload_chart",
]

DIGEST_EVENT_TYPE = "vocwatch_digest"


@dataclass(frozen=True)
class Posted:
    ts: str
    channel_id: str


def chart_filename(key: str) -> str:
    """A file name unique per digest key ("2026-W47:#cx" → "vocwatch-digest-2026-W47-cx.png")."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in key.replace(":", "-").replace("#", ""))
    return f"vocwatch-digest-{safe.strip('-')}.png"


def post_digest_message(
    client: WebClient, *, channel: str, key: str, text: str, blocks: list[dict[str, Any]]
) -> Posted:
    response = client.chat_postMessage(
        channel=channel,
        text=text,
        blocks=blocks,
        metadata={"event_type": DIGEST_EVENT_TYPE, "event_payload": {"digest_key": key}},
        unfurl_links=False,
        unfurl_media=False,
    )
    return Posted(ts=str(response["ts"]), channel_id=str(response["channel"]))


def upload_chart(
    client: WebClient, *, channel_id: str, key: str, png: bytes, title: str, comment: str
) -> str:
    """Upload the chart PNG into the channel with `files_upload_v2`; returns the file ID."""
    response = client.files_upload_v2(
        channel=channel_id,
        content=png,
        filename=chart_filename(key),
        title=title,
        alt_txt=title,
        initial_comment=comment,
    )
    files = response.get("files") or [response.get("file") or {}]
    return str(files[0].get("id", ""))


def find_digest_message(client: WebClient, *, channel_id: str, key: str, oldest: datetime) -> Posted | None:
    """Our digest message for `key` in the channel history since `oldest`, if it was posted."""
    for message in slackapi.channel_history(client, channel_id, oldest=oldest):
        payload = slackapi.metadata_payload(message, DIGEST_EVENT_TYPE)
        if payload is not None and payload.get("digest_key") == key:
            return Posted(ts=str(message["ts"]), channel_id=channel_id)
    return None


def find_chart(client: WebClient, *, channel_id: str, key: str, oldest: datetime) -> str | None:
    """The ID of the digest's chart file shared in the channel since `oldest`, if it was uploaded."""
    wanted = chart_filename(key)
    for message in slackapi.channel_history(client, channel_id, oldest=oldest):
        for shared in message.get("files") or []:
            if isinstance(shared, Mapping) and shared.get("name") == wanted:
                return str(shared["id"])
    return None
