"""A local fake of the Slack Web API, served over real HTTP, for tests and the offline demo.

`slack_sdk.WebClient(token="xoxb-test", base_url=server.base_url)` talks to it exactly as it talks to
Slack: same URLs (`/api/<method>`), the same encodings (JSON bodies, form bodies, query strings), and
responses shaped like the recorded ones in `shared/fixtures/slack` (errors are HTTP 200 with `ok:false`;
only rate limiting is a 429 with `Retry-After`). So tests exercise our real client code, retry handlers
included, and assert what actually arrived over the wire instead of mocking our own code.

    with FakeSlackServer() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        slack.rate_limit_next("chat.postMessage", retry_after=3)
        ...
        assert len(slack.calls("chat.postMessage")) == 2

Implemented: auth.test, chat.postMessage, chat.update, conversations.history, conversations.replies,
conversations.list, files.getUploadURLExternal, files.completeUploadExternal and the upload URL they hand
out (so `files_upload_v2` works). Like Slack, chat.update and conversations.* need a channel *ID*;
chat.postMessage also takes a name (`#alerts` or `alerts`), creating unknown channels when
`auto_create_channels` is on. Every request is recorded before it is answered, so a test that got its
response can rely on the record being there.

OAuth scopes work as in Slack: every API answer carries `x-oauth-scopes` (what the token was granted) and
`x-accepted-oauth-scopes` (what the method accepts), and a call whose scope was not granted is refused
with `{"ok": false, "error": "missing_scope", "needed": ..., "provided": ...}`. All of `DEFAULT_SCOPES`
are granted unless `scopes=` says otherwise; `server.scopes` may be changed while it runs (a scope
revoked mid-run). The fake's channels are public: reading them needs `channels:history`, listing them
`channels:read` (plus `groups:read` when `types` asks for private channels too).

Run `python -m vocwatch.testing.fakeslack` to get a standalone server that prints what it receives.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import html
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from vocwatch.testing.background_server import BackgroundServer

__all__ = [
    "DEFAULT_SCOPES",
    "FakeChannel",
    "FakeFile",
    "FakeMessage",
    "FakeSlackServer",
    "RecordedRequest",
]

logger = logging.getLogger(__name__)

TEAM_ID = "T0FAKE0001"
BOT_USER_ID = "U0FAKE0001"
BOT_ID = "B0FAKE0001"
APP_ID = "A0FAKE0001"

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
_LINK = re.compile(r"<([^<>]+)>")
_JSON_ARGS = ("blocks", "attachments", "metadata", "files")
_BLOCK_TYPES = frozenset(
    {"section", "divider", "context", "header", "actions", "image", "input", "rich_text", "file", "video"}
)
_MAX_BLOCKS = 50
_SECTION_TEXT_MAX = 3000
_SECTION_FIELDS_MAX = 10
_FIELD_TEXT_MAX = 2000
_HEADER_TEXT_MAX = 150
_CONTEXT_ELEMENTS_MAX = 10
_BLOCK_ID_MAX = 255
_TEXT_MAX = 40_000
_HISTORY_LIMIT_MAX = 999

DEFAULT_SCOPES = frozenset(
    {"chat:write", "files:write", "channels:history", "groups:history", "channels:read", "groups:read"}
)
"""What a fake token is granted unless the server is told otherwise: everything vocwatch may call."""
# The scope each method needs (reading our public channels; listing per conversation type, below).
_METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.history": ("channels:history",),
    "conversations.replies": ("channels:history",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
_LIST_SCOPES = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "mpim": "mpim:read",
    "im": "im:read",
}


@dataclass(frozen=True)
class FakeChannel:
    """A channel the fake workspace knows."""

    id: str
    name: str


@dataclass
class RecordedRequest:
    """One HTTP request as it arrived, plus what the fake answered.

    `args` merges the query string, a form body and a JSON body the way Slack does, with the arguments
    that Slack accepts as JSON strings (`blocks`, `metadata`, ...) decoded, so tests can assert on the
    values whatever encoding the client chose.
    """

    api_method: str
    http_method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    args: dict[str, Any]
    status: int = 0
    response: dict[str, Any] | None = None

    @property
    def token(self) -> str | None:
        """The bearer token of the request (header first, then a `token` argument, like Slack)."""
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        token = self.args.get("token")
        return str(token) if token else None

    @property
    def json(self) -> Any:
        """The JSON body, or None when the body was not JSON."""
        if "json" not in self.headers.get("content-type", ""):
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeMessage:
    """A message stored in a fake channel (top-level or a thread reply)."""

    channel_id: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    files: list[dict[str, Any]] = field(default_factory=list)
    edited_ts: str | None = None
    reply_ts: list[str] = field(default_factory=list)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, include_metadata: bool = True) -> dict[str, Any]:
        """The message object as Slack's API returns it (bot message, as posted with a bot token)."""
        out: dict[str, Any] = {
            "bot_id": BOT_ID,
            "type": "message",
            "text": self.text,
            "user": BOT_USER_ID,
            "ts": self.ts,
            "app_id": APP_ID,
            "team": TEAM_ID,
        }
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments is not None:
            out["attachments"] = self.attachments
        if self.files:
            out["files"] = self.files
            out["upload"] = True
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.reply_ts:
            out.update(
                reply_count=len(self.reply_ts),
                reply_users_count=1,
                latest_reply=self.reply_ts[-1],
                reply_users=[BOT_USER_ID],
            )
        if self.is_reply and self.reply_broadcast:
            out["subtype"] = "thread_broadcast"
        if self.edited_ts is not None:
            out["edited"] = {"user": BOT_USER_ID, "ts": self.edited_ts}
        if include_metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        return out


@dataclass
class FakeFile:
    """A file announced with files.getUploadURLExternal; `content` is None until its bytes arrive."""

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel_ids: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": "application/octet-stream",
            "filetype": self.filename.rsplit(".", 1)[-1] if "." in self.filename else "binary",
            "user": BOT_USER_ID,
            "size": len(self.content or b""),
            "is_external": False,
            "channels": list(self.channel_ids),
            "url_private": f"https://files.fake.slack.invalid/{self.id}/{self.filename}",
        }


@dataclass
class _Failure:
    """A scripted answer that replaces the next `remaining` matching calls."""

    method: str
    channel: str | None
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str]
    remaining: int
    disconnect: bool = False


class _ApiError(Exception):
    """An `ok:false` answer (HTTP 200 unless said otherwise), raised by the method handlers."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: dict[str, Any] = {"ok": False, "error": error, **extra}


class FakeSlackServer(BackgroundServer):
    """The fake workspace: channels, messages, files, recorded requests and scripted failures.

    Thread-safe: the HTTP server answers each request on its own thread, and tests read the records from
    the main thread. `valid_tokens=None` accepts any `xox*` token; a set limits them (others get
    `invalid_auth`); a request without a token gets `not_authed`.
    """

    thread_name = "fake-slack"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        channels: Iterable[str] = ("general",),
        auto_create_channels: bool = True,
        valid_tokens: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self.auto_create_channels = auto_create_channels
        self._valid_tokens = frozenset(valid_tokens) if valid_tokens is not None else None
        self._scopes = frozenset(scopes) if scopes is not None else DEFAULT_SCOPES
        self._lock = threading.RLock()
        self._channels: dict[str, FakeChannel] = {}
        self._messages: list[FakeMessage] = []
        self._files: dict[str, FakeFile] = {}
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._last_ts_us = 0
        for name in channels:
            self.add_channel(name)

    # -- lifecycle: start(), stop() and the context manager come from BackgroundServer -----------------

    def make_server(self) -> ThreadingHTTPServer:
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.fake = self
        return httpd

    @property
    def url(self) -> str:
        """The server's origin, e.g. `http://127.0.0.1:43117`."""
        return self.origin

    @property
    def base_url(self) -> str:
        """What to pass as `WebClient(base_url=...)`: the API root with its trailing slash."""
        return f"{self.url}/api/"

    @property
    def scopes(self) -> frozenset[str]:
        """The OAuth scopes the workspace granted the token; assign to grant or revoke some mid-run."""
        with self._lock:
            return self._scopes

    @scopes.setter
    def scopes(self, granted: Iterable[str]) -> None:
        with self._lock:
            self._scopes = frozenset(granted)

    # -- workspace -------------------------------------------------------------------------------------

    def add_channel(self, name: str, *, channel_id: str | None = None) -> str:
        """Create (or find) a channel by name and return its ID."""
        clean = name.lstrip("#")
        with self._lock:
            for channel in self._channels.values():
                if channel.name == clean:
                    return channel.id
            new_id = channel_id or f"C{len(self._channels) + 1:08X}"
            self._channels[new_id] = FakeChannel(id=new_id, name=clean)
            return new_id

    def remove_channel(self, name_or_id: str) -> None:
        """Delete a channel, so posting to it answers `channel_not_found` (with auto-create off)."""
        with self._lock:
            channel = self._find_channel(name_or_id)
            if channel is not None:
                del self._channels[channel.id]

    def channel_id(self, name_or_id: str) -> str:
        """The ID of a known channel; KeyError when the workspace has no such channel."""
        with self._lock:
            channel = self._find_channel(name_or_id)
        if channel is None:
            raise KeyError(name_or_id)
        return channel.id

    def channels(self) -> list[FakeChannel]:
        with self._lock:
            return list(self._channels.values())

    def post_message(
        self,
        channel: str,
        text: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        thread_ts: str | None = None,
    ) -> FakeMessage:
        """Store a message directly, as if posted earlier by our app (for reconciliation tests)."""
        with self._lock:
            target = self._channel_for_post(channel)
            message = FakeMessage(
                channel_id=target.id,
                ts=self._next_ts(),
                text=text,
                metadata=dict(metadata) if metadata is not None else None,
                thread_ts=thread_ts,
            )
            self._store(message)
            return message

    # -- what arrived ----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def calls(self, api_method: str) -> list[RecordedRequest]:
        """The recorded requests for one API method, e.g. `"chat.postMessage"`."""
        with self._lock:
            return [r for r in self._requests if r.api_method == api_method]

    def messages(self, channel: str | None = None) -> list[FakeMessage]:
        """Stored messages, oldest first; only those of `channel` (name or ID) when given."""
        with self._lock:
            if channel is None:
                return list(self._messages)
            found = self._find_channel(channel)
            if found is None:
                return []
            return [m for m in self._messages if m.channel_id == found.id]

    def posted_texts(self, channel: str | None = None) -> list[str]:
        """The `text` of each stored message as a person reads it in Slack, oldest first.

        Slack shows `&lt;` as `<` and a link `<url|label>` as its label; this renders both (links as
        `label (url)`), so the demo can print what arrived without mrkdwn noise.
        """
        return [_displayed(m.text) for m in self.messages(channel)]

    @property
    def files(self) -> list[FakeFile]:
        with self._lock:
            return list(self._files.values())

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- scripted failures -----------------------------------------------------------------------------

    def fail_next(
        self, api_method: str, error: str, *, times: int = 1, channel: str | None = None, **extra: Any
    ) -> None:
        """Answer the next `times` calls (to `channel`, if given) with HTTP 200 `ok:false, error`.

        `invalid_blocks` gets the `errors` and `response_metadata.messages` that Slack sends with it.
        """
        body: dict[str, Any] = {"ok": False, "error": error}
        if error == "invalid_blocks" and not extra:
            problem = "must be a valid block [json-pointer:/blocks/0]"
            extra = {"errors": [problem], "response_metadata": {"messages": [f"[ERROR] {problem}"]}}
        body.update(extra)
        self._script(_Failure(api_method, channel, 200, body, {}, times))

    def rate_limit_next(
        self, api_method: str, *, retry_after: int = 1, times: int = 1, channel: str | None = None
    ) -> None:
        """Answer the next `times` calls with 429 `ratelimited` and `Retry-After: retry_after` seconds."""
        body = {"ok": False, "error": "ratelimited"}
        self._script(_Failure(api_method, channel, 429, body, {"Retry-After": str(retry_after)}, times))

    def server_error_next(
        self, api_method: str, *, status: int = 500, times: int = 1, channel: str | None = None
    ) -> None:
        """Answer the next `times` calls with an HTML 5xx page, as a load balancer in front of Slack does."""
        body = f"<html><body><h1>{status} {HTTPStatus(status).phrase}</h1></body></html>"
        self._script(_Failure(api_method, channel, status, body, {}, times))

    def disconnect_next(self, api_method: str, *, times: int = 1, channel: str | None = None) -> None:
        """Close the connection without answering the next `times` calls (a network failure)."""
        self._script(_Failure(api_method, channel, 0, "", {}, times, disconnect=True))

    def _script(self, failure: _Failure) -> None:
        if failure.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._failures.append(failure)

    # -- request handling (called from the server threads) ---------------------------------------------

    def _handle(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes | None]:
        """Answer one request: (status, headers, body); body None means "drop the connection"."""
        with self._lock:
            failure = self._take_failure(request)
            if failure is not None:
                request.status = failure.status
                if isinstance(failure.body, dict):
                    request.response = failure.body
                self._requests.append(request)
                if failure.disconnect:
                    return 0, {}, None
                if isinstance(failure.body, str):
                    return failure.status, {"Content-Type": "text/html; charset=utf-8"}, failure.body.encode()
                headers = {
                    "Content-Type": "application/json;charset=utf-8",
                    **self._scope_headers(request),
                    **failure.headers,
                }
                return failure.status, headers, json.dumps(failure.body).encode()
            if request.api_method == "upload":
                status, body = self._upload(request)
                request.status = status
                self._requests.append(request)
                return status, {"Content-Type": "text/plain; charset=utf-8"}, body.encode()
            status = 200
            try:
                response = self._dispatch(request)
            except _ApiError as err:
                response = err.body
            except Exception:  # a bug in the fake must not hang the client: answer and log it
                logger.exception("fake Slack failed on %s", request.api_method)
                status, response = 500, {"ok": False, "error": "fake_slack_bug"}
            request.status = status
            request.response = response
            self._requests.append(request)
            headers = {"Content-Type": "application/json; charset=utf-8", **self._scope_headers(request)}
        return status, headers, _dump(response)

    def _take_failure(self, request: RecordedRequest) -> _Failure | None:
        for failure in self._failures:
            if failure.method != request.api_method:
                continue
            if failure.channel is not None and not self._same_channel(failure.channel, _channel_arg(request)):
                continue
            failure.remaining -= 1
            if failure.remaining == 0:
                self._failures.remove(failure)
            return failure
        return None

    def _dispatch(self, request: RecordedRequest) -> dict[str, Any]:
        handler = _METHODS.get(request.api_method)
        if handler is None:
            raise _ApiError("unknown_method")
        self._authenticate(request)
        needed = _needed_scopes(request)
        missing = [scope for scope in needed if scope not in self._scopes]
        if missing:  # Slack's answer: which scope the call needed and which the token has
            raise _ApiError(
                "missing_scope", needed=",".join(missing), provided=",".join(sorted(self._scopes))
            )
        return handler(self, request.args, request)

    def _scope_headers(self, request: RecordedRequest) -> dict[str, str]:
        """What Slack says on every answer: the token's scopes, and the ones the method accepts."""
        if request.api_method not in _METHODS:
            return {}
        return {
            "x-oauth-scopes": ",".join(sorted(self._scopes)),
            "x-accepted-oauth-scopes": ",".join(_needed_scopes(request)),
        }

    def _authenticate(self, request: RecordedRequest) -> None:
        token = request.token
        if not token:
            raise _ApiError("not_authed")
        if self._valid_tokens is None:
            if not token.startswith("xox"):
                raise _ApiError("invalid_auth")
        elif token not in self._valid_tokens:
            raise _ApiError("invalid_auth")

    # -- API methods -----------------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any], request: RecordedRequest) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://vocwatch-fake.slack.com/",
            "team": "vocwatch fake workspace",
            "user": "vocwatch",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any], request: RecordedRequest) -> dict[str, Any]:
        channel = self._channel_for_post(str(args.get("channel") or ""))
        text, blocks, attachments = _message_content(args)
        metadata = _metadata_arg(args)
        thread_ts = _str_or_none(args.get("thread_ts"))
        message = FakeMessage(
            channel_id=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            metadata=metadata,
            thread_ts=thread_ts,
            reply_broadcast=_truthy(args.get("reply_broadcast")),
        )
        self._store(message)
        response: dict[str, Any] = {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "message": message.to_api(),
        }
        if "json" in request.headers.get("content-type", "") and "charset" not in request.headers.get(
            "content-type", ""
        ):  # what Slack says to JSON posted without a charset (see the recorded ok response)
            response.update(warning="missing_charset", response_metadata={"warnings": ["missing_charset"]})
        return response

    def _chat_update(self, args: dict[str, Any], request: RecordedRequest) -> dict[str, Any]:
        channel = self._channel_by_id(args.get("channel"))
        message = self._message(channel.id, _str_or_none(args.get("ts")))
        if message is None:
            raise _ApiError("message_not_found")
        if not any(args.get(key) for key in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        text, blocks, attachments = _message_content(args)
        if "text" in args:
            message.text = text
        if "blocks" in args:
            message.blocks = blocks
        if "attachments" in args:
            message.attachments = attachments
        if "metadata" in args:
            message.metadata = _metadata_arg(args)
        message.edited_ts = self._next_ts()
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(),
        }

    def _conversations_history(self, args: dict[str, Any], request: RecordedRequest) -> dict[str, Any]:
        channel = self._channel_by_id(args.get("channel"))
        inclusive = _truthy(args.get("inclusive"))
        oldest = _ts_arg(args.get("oldest")) or 0
        latest = _ts_arg(args.get("latest"))
        visible = [
            m
            for m in self._messages
            if m.channel_id == channel.id
            and (not m.is_reply or m.reply_broadcast)
            and (_ts_us(m.ts) > oldest or (inclusive and _ts_us(m.ts) == oldest))
            and (latest is None or _ts_us(m.ts) < latest or (inclusive and _ts_us(m.ts) == latest))
        ]
        visible.sort(key=lambda m: _ts_us(m.ts), reverse=True)  # newest first, like Slack
        include_metadata = _truthy(args.get("include_all_metadata"))
        page, next_cursor = _page(visible, args, default_limit=100)
        response: dict[str, Any] = {
            "ok": True,
            "messages": [m.to_api(include_metadata=include_metadata) for m in page],
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if next_cursor:
            response["response_metadata"] = {"next_cursor": next_cursor}
        return response

    def _conversations_replies(self, args: dict[str, Any], request: RecordedRequest) -> dict[str, Any]:
        channel = self._channel_by_id(args.get("channel"))
        parent = self._message(channel.id, _str_or_none(args.get("ts")))
        if parent is None:
            raise _ApiError("thread_not_found")
        root_ts = parent.thread_ts or parent.ts
        thread = [
            m
            for m in self._messages
            if m.channel_id == channel.id and (m.ts == root_ts or m.thread_ts == root_ts)
        ]
        thread.sort(key=lambda m: _ts_us(m.ts))
        include_metadata = _truthy(args.get("include_all_metadata"))
        page, next_cursor = _page(thread, args, default_limit=1000)
        response: dict[str, Any] = {
            "ok": True,
            "messages": [m.to_api(include_metadata=include_metadata) for m in page],
            "has_more": bool(next_cursor),
        }
        if next_cursor:
            response["response_metadata"] = {"next_cursor": next_cursor}
        return response

    def _conversations_list(self, args: dict[str, Any], request: RecordedRequest) -> dict[str, Any]:
        page, next_cursor = _page(list(self._channels.values()), args, default_limit=100)
        return {
            "ok": True,
            "channels": [
                {
                    "id": c.id,
                    "name": c.name,
                    "name_normalized": c.name,
                    "is_channel": True,
                    "is_private": False,
                    "is_archived": False,
                    "is_member": True,
                    "num_members": 1,
                }
                for c in page
            ],
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _files_get_upload_url_external(
        self, args: dict[str, Any], request: RecordedRequest
    ) -> dict[str, Any]:
        filename = _str_or_none(args.get("filename"))
        length = _int_or_none(args.get("length"))
        if not filename or length is None:
            raise _ApiError("invalid_arguments")
        file_id = f"F{len(self._files) + 1:08X}"
        self._files[file_id] = FakeFile(id=file_id, filename=filename, length=length)
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(
        self, args: dict[str, Any], request: RecordedRequest
    ) -> dict[str, Any]:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments")
        completed: list[FakeFile] = []
        for entry in entries:
            fake_file = self._files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if fake_file is None or fake_file.content is None:
                raise _ApiError("file_not_found")
            fake_file.title = _str_or_none(entry.get("title")) or fake_file.filename
            completed.append(fake_file)
        targets = [c for c in str(args.get("channels") or "").split(",") if c]
        if args.get("channel_id"):
            targets.insert(0, str(args["channel_id"]))
        for target in targets:
            channel = self._channel_by_id(target)
            for fake_file in completed:
                fake_file.channel_ids.append(channel.id)
            self._store(
                FakeMessage(
                    channel_id=channel.id,
                    ts=self._next_ts(),
                    text=str(args.get("initial_comment") or ""),
                    thread_ts=_str_or_none(args.get("thread_ts")),
                    files=[f.to_api() for f in completed],
                )
            )
        return {"ok": True, "files": [f.to_api() for f in completed]}

    def _upload(self, request: RecordedRequest) -> tuple[int, str]:
        file_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        fake_file = self._files.get(file_id)
        if fake_file is None or request.http_method != "POST":
            return 404, "Not Found"
        fake_file.content = request.body
        return 200, f"OK - {len(request.body)}"

    # -- helpers (callers hold the lock) ----------------------------------------------------------------

    def _next_ts(self) -> str:
        """Unique, increasing message timestamps in Slack's `seconds.micros` string form."""
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _store(self, message: FakeMessage) -> None:
        self._messages.append(message)
        if message.is_reply:
            parent = self._message(message.channel_id, message.thread_ts)
            if parent is not None:
                parent.reply_ts.append(message.ts)

    def _message(self, channel_id: str, ts: str | None) -> FakeMessage | None:
        for message in self._messages:
            if message.channel_id == channel_id and message.ts == ts:
                return message
        return None

    def _find_channel(self, name_or_id: str | None) -> FakeChannel | None:
        if not name_or_id:
            return None
        if name_or_id in self._channels:
            return self._channels[name_or_id]
        clean = name_or_id.lstrip("#")
        for channel in self._channels.values():
            if channel.name == clean:
                return channel
        return None

    def _channel_for_post(self, name_or_id: str) -> FakeChannel:
        """chat.postMessage's lookup: an ID, `#name` or `name`; unknown names may create the channel."""
        channel = self._find_channel(name_or_id)
        if channel is not None:
            return channel
        if not name_or_id or _CHANNEL_ID.match(name_or_id) or not self.auto_create_channels:
            raise _ApiError("channel_not_found")
        return self._channels[self.add_channel(name_or_id)]

    def _channel_by_id(self, value: Any) -> FakeChannel:
        """Methods that, like Slack's, accept only a channel ID."""
        channel = self._channels.get(str(value or ""))
        if channel is None:
            raise _ApiError("channel_not_found")
        return channel

    def _same_channel(self, scripted: str, requested: str | None) -> bool:
        if requested is None:
            return False
        wanted = self._find_channel(scripted)
        got = self._find_channel(requested)
        if wanted is not None and got is not None:
            return wanted.id == got.id
        return scripted.lstrip("#") == requested.lstrip("#")


_MethodHandler = Callable[[FakeSlackServer, dict[str, Any], RecordedRequest], dict[str, Any]]
_METHODS: dict[str, _MethodHandler] = {
    "auth.test": FakeSlackServer._auth_test,
    "chat.postMessage": FakeSlackServer._chat_post_message,
    "chat.update": FakeSlackServer._chat_update,
    "conversations.history": FakeSlackServer._conversations_history,
    "conversations.replies": FakeSlackServer._conversations_replies,
    "conversations.list": FakeSlackServer._conversations_list,
    "files.getUploadURLExternal": FakeSlackServer._files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlackServer._files_complete_upload_external,
}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlackServer


class _Handler(BaseHTTPRequestHandler):
    server_version = "vocwatch-fake-slack/1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake slack: " + format, *args)

    def _serve(self) -> None:
        fake = cast(_HTTPServer, self.server).fake
        request = self._record()
        status, headers, body = fake._handle(request)
        if body is None:  # scripted disconnect: answer nothing at all
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> RecordedRequest:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        args: dict[str, Any] = dict(query)
        content_type = headers.get("content-type", "")
        is_upload = split.path.startswith("/upload/")  # raw file bytes, whatever urllib calls them
        if "application/x-www-form-urlencoded" in content_type and not is_upload:
            args.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        elif "json" in content_type and body and not is_upload:
            try:
                parsed = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                parsed = None  # no arguments then: the method answers as Slack would for missing ones
            if isinstance(parsed, dict):
                args.update(parsed)
        for key in _JSON_ARGS:
            if isinstance(args.get(key), str) and args[key]:
                with contextlib.suppress(json.JSONDecodeError):  # else left as a string: invalid_* later
                    args[key] = json.loads(args[key])
        if split.path.startswith("/api/"):
            api_method = split.path[len("/api/") :].strip("/")
        elif is_upload:
            api_method = "upload"
        else:
            api_method = split.path
        return RecordedRequest(
            api_method=api_method,
            http_method=self.command,
            path=split.path,
            headers=headers,
            query=query,
            body=body,
            args=args,
        )


# -- argument parsing and validation ---------------------------------------------------------------------


def _message_content(args: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None, list[Any] | None]:
    """Validate text/blocks/attachments the way chat.postMessage and chat.update do."""
    text = str(args.get("text") or "")
    blocks = args.get("blocks")
    attachments = args.get("attachments")
    if not text and not blocks and not attachments:
        raise _ApiError("no_text")
    if len(text) > _TEXT_MAX:
        raise _ApiError("msg_too_long")
    if blocks is not None:
        if not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        problems = list(_block_problems(blocks))
        if problems:
            raise _ApiError(
                "invalid_blocks",
                errors=problems,
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )
    if attachments is not None and not isinstance(attachments, list):
        raise _ApiError("invalid_attachments")
    return text, blocks, attachments


def _block_problems(blocks: list[Any]) -> Iterable[str]:
    """The Block Kit limits we rely on, reported like Slack does (message + JSON pointer)."""
    if len(blocks) > _MAX_BLOCKS:
        yield f"no more than {_MAX_BLOCKS} items allowed [json-pointer:/blocks]"
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            yield f"must be a valid enum value [json-pointer:{where}/type]"
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > _BLOCK_ID_MAX:
                yield f"must be less than {_BLOCK_ID_MAX + 1} characters [json-pointer:{where}/block_id]"
            if block_id in seen_ids:
                yield f"duplicate block_id [json-pointer:{where}/block_id]"
            seen_ids.add(str(block_id))
        kind = block["type"]
        if kind == "section":
            yield from _section_problems(block, where)
        elif kind == "header":
            if len(_text_of(block.get("text"))) > _HEADER_TEXT_MAX:
                yield f"must be less than {_HEADER_TEXT_MAX + 1} characters [json-pointer:{where}/text/text]"
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                yield f"must provide at least 1 items [json-pointer:{where}/elements]"
            elif len(elements) > _CONTEXT_ELEMENTS_MAX:
                yield f"no more than {_CONTEXT_ELEMENTS_MAX} items allowed [json-pointer:{where}/elements]"


def _section_problems(block: dict[str, Any], where: str) -> Iterable[str]:
    text = block.get("text")
    fields = block.get("fields")
    if text is None and not fields:
        yield f"must provide either text or fields [json-pointer:{where}]"
    if text is not None and len(_text_of(text)) > _SECTION_TEXT_MAX:
        yield f"must be less than {_SECTION_TEXT_MAX + 1} characters [json-pointer:{where}/text/text]"
    if fields:
        if len(fields) > _SECTION_FIELDS_MAX:
            yield f"no more than {_SECTION_FIELDS_MAX} items allowed [json-pointer:{where}/fields]"
        for j, item in enumerate(fields):
            if len(_text_of(item)) > _FIELD_TEXT_MAX:
                pointer = f"{where}/fields/{j}/text"
                yield f"must be less than {_FIELD_TEXT_MAX + 1} characters [json-pointer:{pointer}]"


def _text_of(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _metadata_arg(args: dict[str, Any]) -> dict[str, Any] | None:
    metadata = args.get("metadata")
    if metadata is None or metadata == "":
        return None
    if not isinstance(metadata, dict) or not metadata.get("event_type"):
        raise _ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_payload", {}), dict):
        raise _ApiError("invalid_metadata_schema")
    return metadata


def _needed_scopes(request: RecordedRequest) -> tuple[str, ...]:
    """The scopes one call needs: per method, and for conversations.list per conversation type asked."""
    if request.api_method == "conversations.list":
        types = str(request.args.get("types") or "public_channel").split(",")
        return tuple(dict.fromkeys(_LIST_SCOPES[t.strip()] for t in types if t.strip() in _LIST_SCOPES))
    return _METHOD_SCOPES.get(request.api_method, ())


def _channel_arg(request: RecordedRequest) -> str | None:
    value = request.args.get("channel") or request.args.get("channel_id")
    return str(value) if value else None


def _page(items: list[Any], args: dict[str, Any], *, default_limit: int) -> tuple[list[Any], str]:
    """Cursor pagination: the cursor is an opaque base64 offset, like Slack's opaque strings."""
    limit = _int_or_none(args.get("limit")) or default_limit
    limit = max(1, min(limit, _HISTORY_LIMIT_MAX))
    start = 0
    cursor = _str_or_none(args.get("cursor"))
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except (ValueError, binascii.Error) as err:
            raise _ApiError("invalid_cursor") from err
    end = start + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], next_cursor


def _ts_us(value: str) -> int:
    """A `seconds.micros` timestamp as integer microseconds (floats lose the micros)."""
    seconds, _, fraction = value.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def _ts_arg(value: Any) -> int | None:
    """An optional `oldest`/`latest` argument; a malformed one is Slack's `invalid_ts_oldest`/`_latest`."""
    if value is None or value == "":
        return None
    try:
        return _ts_us(str(value))
    except ValueError as err:
        raise _ApiError("invalid_arguments") from err


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _displayed(mrkdwn: str) -> str:
    def link(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        return f"{label} ({target})" if label else target

    return html.unescape(_LINK.sub(link, mrkdwn))


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def main() -> None:
    """Serve a fake Slack until Ctrl-C and print each message it receives (manual checks, demos)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with FakeSlackServer() as server:
        logger.info("fake Slack Web API at %s (any xoxb-* token works)", server.base_url)
        seen = 0
        stop = threading.Event()
        try:
            while not stop.wait(0.5):
                messages = server.messages()
                for message in messages[seen:]:
                    logger.info("[%s %s] %s", message.channel_id, message.ts, message.text)
                seen = len(messages)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
