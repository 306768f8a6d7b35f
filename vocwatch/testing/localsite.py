"""LocalSite: a small real HTTP server on 127.0.0.1 (port 0) serving a directory, with scripted replies.

Used by the test suite (crawls against a real server, no mocks) and by `vocwatch demo` (it serves the bundled
sample feeds). Files are served with a Content-Type from their extension, an ETag and Last-Modified, and
conditional GETs are answered with 304 like a real static server. A path can be given extra headers or
fixed content, and a queue of one-shot replies (a 429 with Retry-After, a 500) that are served before the
file: "rate-limited once, then fine" is `site.script("/feed.xml", Reply(429, {"Retry-After": "1"}))`.

    with LocalSite(Path("feeds")) as site:
        url = site.url("/acme.xml")
"""

from __future__ import annotations

import hashlib
import mimetypes
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from vocwatch.testing.background_server import BackgroundServer

__all__ = ["LocalSite", "RecordedRequest", "Reply"]

_CONTENT_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
    ".json": "application/json",
    ".html": "text/html",
    ".txt": "text/plain",
}


@dataclass(frozen=True)
class Reply:
    """A scripted answer. `body=None` serves the path's content (file or fixed), with these status/headers;
    `delay_s` holds the answer back (a slow or hanging server)."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = b""
    delay_s: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # path and query, as requested
    headers: Mapping[str, str]
    status: int  # what the site answered
    at: float  # time.monotonic() when it arrived: tests check how long a client waited between tries


@dataclass
class _Content:
    body: bytes
    content_type: str
    headers: dict[str, str]
    last_modified: float | None = None


class LocalSite(BackgroundServer):
    """A static site in a thread. Thread-safe: tests script it while Scrapy (another process) crawls it."""

    thread_name = "localsite"
    poll_interval_s = 0.05

    def __init__(
        self, root: Path | None = None, *, host: str = "127.0.0.1", conditional: bool = True
    ) -> None:
        self.root = root.resolve() if root is not None else None
        self.conditional = conditional
        self._host = host
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Reply]] = {}
        self._contents: dict[str, _Content] = {}
        self._headers: dict[str, dict[str, str]] = {}
        self._requests: list[RecordedRequest] = []

    # -- lifecycle: start(), stop() and the context manager come from BackgroundServer -----------------

    def make_server(self) -> ThreadingHTTPServer:
        server = _Server((self._host, 0), _Handler)
        server.site = self
        return server

    @property
    def base_url(self) -> str:
        return self.origin

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    # -- scripting ------------------------------------------------------------------------------------------

    def script(self, path: str, *replies: Reply) -> None:
        """Queue one-shot replies for a path, served in order before its normal content."""
        with self._lock:
            self._scripts.setdefault(_norm(path), deque()).extend(replies)

    def set_content(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/xml",
        headers: Mapping[str, str] = {},
    ) -> None:
        """Serve fixed bytes at a path (instead of, or without, a file); replacing it changes the ETag."""
        with self._lock:
            self._contents[_norm(path)] = _Content(body, content_type, dict(headers))

    def set_headers(self, path: str, headers: Mapping[str, str]) -> None:
        """Extra/overriding response headers for a path, e.g. `{"Content-Type": "text/xml; charset=gbk"}`."""
        with self._lock:
            self._headers[_norm(path)] = dict(headers)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == _norm(path)]

    # -- serving (called from the server's threads) ------------------------------------------------------

    def _answer(
        self, method: str, raw_path: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        arrived = time.monotonic()
        path = _norm(urlsplit(raw_path).path)
        with self._lock:
            script = self._scripts.get(path)
            reply = script.popleft() if script else None
            extra = dict(self._headers.get(path, {}))
            content = self._contents.get(path)
        if reply is not None and reply.body is not None:
            status, out, body = reply.status, {"Content-Type": "text/plain", **reply.headers}, reply.body
        else:
            content = content or self._read_file(path)
            if content is None:
                status, out, body = 404, {"Content-Type": "text/plain"}, b"not found"
            else:
                status, out, body = self._serve(content, headers)
                if reply is not None:
                    status, out = reply.status, {**out, **reply.headers}
        out.update(extra)
        with self._lock:  # recorded before any delay: a test can see a request the server is holding
            self._requests.append(RecordedRequest(method, raw_path, dict(headers), status, arrived))
        if reply is not None and reply.delay_s:
            time.sleep(reply.delay_s)
        return status, out, body

    def _serve(self, content: _Content, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        etag = '"' + hashlib.sha1(content.body, usedforsecurity=False).hexdigest()[:16] + '"'
        out = {"Content-Type": content.content_type, "ETag": etag, **content.headers}
        if content.last_modified is not None:
            out["Last-Modified"] = formatdate(content.last_modified, usegmt=True)
        if self.conditional and headers.get("if-none-match") == etag:
            return 304, out, b""
        return 200, out, content.body

    def _read_file(self, path: str) -> _Content | None:
        if self.root is None:
            return None
        file = (self.root / unquote(path).lstrip("/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return None
        content_type = _CONTENT_TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
        return _Content(
            file.read_bytes(), content_type or "application/octet-stream", {}, file.stat().st_mtime
        )


class _Server(ThreadingHTTPServer):
    site: LocalSite

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (a killed crawler, a timeout) is normal here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._reply(send_body=True)

    def do_HEAD(self) -> None:
        self._reply(send_body=False)

    def do_POST(self) -> None:
        """Logins (OAuth token, XRPC session) are POSTs: the body is read, then answered like a GET."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(send_body=True)

    def _reply(self, *, send_body: bool) -> None:
        headers = {key.lower(): value for key, value in self.headers.items()}
        status, out, body = self.server.site._answer(self.command, self.path, headers)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        self.send_response(status, phrase)
        for key, value in out.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body) if status != 304 else 0))
        self.end_headers()
        if send_body and status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are recorded in `LocalSite.requests` instead of printed."""


def _norm(path: str) -> str:
    return "/" + path.lstrip("/")
