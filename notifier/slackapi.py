"""What vocwatch knows about the Slack Web API itself, in one place for the dispatcher and the digest.

Both post messages that must survive a crash without being posted twice, so both need the same few things
from Slack besides the post: is a configured channel already an ID, the ID of a channel name, a scan of a
channel's history or a thread for the messages we marked with metadata, and a verdict on a failed call
(wait, retry, give up, or call an operator). Kept here, the two cannot drift apart again.

Calls take a ready `slack_sdk.WebClient`: its token, base URL and retry handlers are the composition
root's choice. Failures surface as slack_sdk's own `SlackApiError` (or `OSError` for the network);
`classify_error` sorts a `SlackApiError` into an `ErrorKind` and each caller maps that onto its policy.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

__all__ = [
    "BLOCK_ERRORS",
    "MAX_PAGES",
    "PERMANENT_CHANNEL_ERRORS",
    "TRANSIENT_ERRORS",
    "ErrorKind",
    "channel_history",
    "classify_error",
    "error_code",
    "error_reason",
    "find_channel_id",
    "is_channel_id",
    "list_channels",
    "metadata_payload",
    "resolve_channel_id",
    "retry_after_s",
    "thread_replies",
]

MAX_PAGES = 20  # pages of 200 per lookup or scan: 4,000 channels or messages, then give up

# Slack error codes (HTTP 200, ok:false) that are worth retrying; every other code is a request or
# configuration problem that retrying cannot fix.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# Errors that concern the channel (or the whole token): every call to that channel fails the same way
# until an operator fixes the setup, so they are named in logs and ops alerts.
PERMANENT_CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
    }
)
# Slack rejected the message's Block Kit; the same message as plain text may still go through.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format"})

# Conversation IDs: C (public or private channel), G (older private channel or group DM), D (direct
# message), then upper-case letters and digits: 8 in older workspaces (C024BE91L), 10 today
# (C0123456789); Slack says the length may grow. Channel *names* are always lower case.
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,}")
_NON_JSON_PREFIX = "Received a response in a non-JSON format"  # slack_sdk's error for such a reply
_PAGE_SIZE = 200
_CHANNEL_TYPES = "public_channel,private_channel"


class ErrorKind(enum.StrEnum):
    """What retrying a failed Slack call can achieve, in the order `classify_error` decides it."""

    RATE_LIMITED = "rate_limited"  # HTTP 429 / `ratelimited`: it will work after `Retry-After`
    TRANSIENT = "transient"  # HTTP 5xx or an internal_error-style code: back off and retry
    UNREADABLE = "unreadable"  # a reply that is not Slack's JSON (a proxy, a cut-off body): may have landed
    SETUP = "setup"  # PERMANENT_CHANNEL_ERRORS: every call fails until an operator fixes the setup
    REQUEST = "request"  # anything else (invalid_blocks, msg_too_long, ...): this request cannot succeed


def is_channel_id(channel: str) -> bool:
    """Whether `channel` is a Slack conversation ID (`C0123456789`) rather than a name (`#cx-alerts`).

    Reading a history needs an ID, and looking a name up costs a paged `conversations.list`, so this
    decides whether that lookup is needed. A too-short upper-case string such as `C1` is not an ID: it
    is looked up as a name and not found, instead of being sent to Slack as a broken ID.
    """
    return _CHANNEL_ID.fullmatch(channel) is not None


def find_channel_id(client: WebClient, name: str, *, max_pages: int = MAX_PAGES) -> str | None:
    """The ID of the public or private channel called `name` (`#` optional); None when there is none.

    Slack has no lookup by name, so this pages through `conversations.list` (the dispatcher caches it).
    """
    wanted = name.lstrip("#")
    for channel in list_channels(client, max_pages=max_pages):
        if channel.get("name") == wanted:
            return str(channel["id"])
    return None


def list_channels(
    client: WebClient, *, types: str = _CHANNEL_TYPES, max_pages: int = MAX_PAGES
) -> Iterator[Mapping[str, Any]]:
    """The channels of `types` the token can see (`conversations.list`), with `id`, `name`, `is_member`.

    Public channels need `channels:read`, private ones `groups:read` (and only those the bot is in).
    """
    for page in _pages(client.conversations_list, max_pages=max_pages, types=types, limit=_PAGE_SIZE):
        yield from page.get("channels") or []


def resolve_channel_id(client: WebClient, channel: str, *, max_pages: int = MAX_PAGES) -> str | None:
    """The ID of a channel configured by ID or by name; None when Slack has no such channel.

    Posting accepts either, but reading a history (to find what a crashed run posted) needs the ID.
    """
    if is_channel_id(channel):
        return channel
    return find_channel_id(client, channel, max_pages=max_pages)


def channel_history(
    client: WebClient, channel_id: str, *, oldest: datetime | None = None, max_pages: int = MAX_PAGES
) -> Iterator[Mapping[str, Any]]:
    """The top-level messages of a channel, newest first, since `oldest` (exclusive) if given.

    Metadata is included: our own messages carry their identity there (`metadata_payload`). Starting at
    the time of the interrupted attempt keeps the scan short in a busy channel.
    """
    since = {} if oldest is None else {"oldest": f"{oldest.timestamp():.6f}"}
    for page in _pages(
        client.conversations_history,
        max_pages=max_pages,
        channel=channel_id,
        include_all_metadata=True,
        limit=_PAGE_SIZE,
        **since,
    ):
        yield from page.get("messages") or []


def thread_replies(
    client: WebClient, channel_id: str, thread_ts: str, *, max_pages: int = MAX_PAGES
) -> Iterator[Mapping[str, Any]]:
    """The parent and replies of the thread `thread_ts`, oldest first, with their metadata.

    Thread replies are not in the channel history, so a reply that a crash left unconfirmed is looked
    for here.
    """
    for page in _pages(
        client.conversations_replies,
        max_pages=max_pages,
        channel=channel_id,
        ts=thread_ts,
        include_all_metadata=True,
        limit=_PAGE_SIZE,
    ):
        yield from page.get("messages") or []


def metadata_payload(message: Mapping[str, Any], event_type: str) -> Mapping[str, Any] | None:
    """The `event_payload` of a message's metadata if the metadata is of `event_type`, else None.

    vocwatch marks what it posts (`vocwatch_alert`, `vocwatch_digest`) so that a scan can tell its own
    messages, and which alert or digest each one is, from everything else in the channel.
    """
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != event_type:
        return None
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, Mapping) else None


def error_code(err: SlackApiError) -> str:
    """Slack's `error` code (`channel_not_found`, ...), or `unknown_error` when the reply has none."""
    data = err.response.data
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return "unknown_error"


def error_reason(err: SlackApiError) -> str:
    """The error code plus Slack's first detail message (e.g. the JSON pointer of a bad block).

    The code alone (`invalid_blocks`) does not tell an operator which block to fix; the detail does.
    """
    error = error_code(err)
    data = err.response.data
    details: Iterable[Any] = ()
    if isinstance(data, dict):
        details = (data.get("response_metadata") or {}).get("messages") or data.get("errors") or ()
    first = next(iter(details), None)
    return f"{error}: {first}" if first else error


def classify_error(err: SlackApiError) -> ErrorKind:
    """Sort a failed call by what retrying it can achieve (see `ErrorKind`).

    The HTTP status decides first: a 429 or 5xx says nothing about the request itself, whatever body a
    proxy put in front of it.
    """
    status = int(err.response.status_code)
    error = error_code(err)
    if status == 429 or error == "ratelimited":
        return ErrorKind.RATE_LIMITED
    if status >= 500:
        return ErrorKind.TRANSIENT
    if error.startswith(_NON_JSON_PREFIX):
        return ErrorKind.UNREADABLE
    if error in TRANSIENT_ERRORS:
        return ErrorKind.TRANSIENT
    if error in PERMANENT_CHANNEL_ERRORS:
        return ErrorKind.SETUP
    return ErrorKind.REQUEST


def retry_after_s(headers: Mapping[str, Any], *, default: float) -> float:
    """Seconds from a `Retry-After` header (any case; slack_sdk may hand lists), else `default`.

    Never below 1 s, so that `Retry-After: 0` cannot turn into a tight loop of refused calls.
    """
    for name, value in headers.items():
        if name.lower() != "retry-after":
            continue
        raw = value[0] if isinstance(value, list | tuple) and value else value
        try:
            return max(float(str(raw).strip()), 1.0)
        except ValueError:
            break
    return default


def _pages(call: Callable[..., SlackResponse], *, max_pages: int, **params: Any) -> Iterator[SlackResponse]:
    """Each page of a cursor-paginated method, at most `max_pages`; stops when `next_cursor` is empty.

    Not slack_sdk's own paging (iterating a `SlackResponse`): when a later page is a proxy's HTML error
    page, that raises a bare `json.JSONDecodeError`, while a direct call raises `SlackApiError` with the
    HTTP status, which `classify_error` can turn into a retry.
    """
    cursor: str | None = None
    for _ in range(max_pages):
        page = call(**params, cursor=cursor)
        yield page
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return
