"""The Slack calls of the digest: post the message, upload the chart, and find both after a crash.

No storage here: the caller (`vocwatch.stages.digest`) records each step in the `digests` row before
taking the next, and uses the `find_*` functions when a row says a step may have happened without
being recorded.
The message carries its identity in Slack message metadata (`vocwatch_digest` / `digest_key`), the chart
in its file name, so both can be recognised in the channel history.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

__all__ = [
    "DIGEST_EVENT_TYPE",
    "Posted",
    "chart_filename",
    "find_chart",
    "find_digest_message",
    "post_digest_message",
    "resolve_channel_id",
    "upload_chart",
]

DIGEST_EVENT_TYPE = "vocwatch_digest"
_MAX_PAGES = 20


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


def resolve_channel_id(client: WebClient, channel: str) -> str | None:
    """The ID of a channel given by ID or by name (`#cx-digest`); None when Slack has no such channel."""
    if channel[:1] in ("C", "G", "D") and channel.isalnum() and channel == channel.upper():
        return channel
    wanted = channel.lstrip("#")
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = client.conversations_list(types="public_channel,private_channel", limit=200, cursor=cursor)
        for item in page.get("channels") or []:
            if item.get("name") == wanted:
                return str(item["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None
    return None


def find_digest_message(client: WebClient, *, channel_id: str, key: str, oldest: datetime) -> Posted | None:
    """Our digest message for `key` in the channel history since `oldest`, if it was posted."""
    for message in _history(client, channel_id, oldest):
        metadata = message.get("metadata")
        if isinstance(metadata, Mapping) and metadata.get("event_type") == DIGEST_EVENT_TYPE:
            payload = metadata.get("event_payload")
            if isinstance(payload, Mapping) and payload.get("digest_key") == key:
                return Posted(ts=str(message["ts"]), channel_id=channel_id)
    return None


def find_chart(client: WebClient, *, channel_id: str, key: str, oldest: datetime) -> str | None:
    """The ID of the digest's chart file shared in the channel since `oldest`, if it was uploaded."""
    wanted = chart_filename(key)
    for message in _history(client, channel_id, oldest):
        for shared in message.get("files") or []:
            if isinstance(shared, Mapping) and shared.get("name") == wanted:
                return str(shared["id"])
    return None


def _history(client: WebClient, channel_id: str, oldest: datetime) -> Iterator[Mapping[str, Any]]:
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = client.conversations_history(
            channel=channel_id,
            oldest=f"{oldest.timestamp():.6f}",
            include_all_metadata=True,
            limit=200,
            cursor=cursor,
        )
        yield from page.get("messages") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not page.get("has_more") or not cursor:
            return
