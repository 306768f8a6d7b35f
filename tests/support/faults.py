"""FaultServer: a real HTTP server on loopback that misbehaves on purpose, in front of content or a server.

Network faults are injected at the HTTP level, where the crawler and the Slack client meet them in real
life. A FaultServer either serves fixed content (`serve(path, body, content_type)`) or forwards every
request to an `upstream` server (the fake Slack, a LocalSite) and relays the answer; before that, the
first matching injected fault decides what the client gets instead:

    SLOW         answer normally, but only after `stall_s` (a slow server; a window for a kill to land)
    STALL        accept the request, answer nothing until the client gives up (its timeout)
    RESET        reset the connection (TCP RST) before reading the request
    LOST_REPLY   forward the request (the upstream acts on it: Slack stores the message), then reset:
                 the client cannot know whether its request took effect
    STATUS       answer `status` (429, 500, 503, ...) with an HTML body and an optional `Retry-After`
    TRUNCATED    send the real headers and half the real body, then close (Content-Length says more)
    WRONG_TYPE   a 200 captive-portal HTML page where JSON or a feed was expected
    HUGE         a 200 body of `size` bytes (declared in Content-Length, or streamed without one)
    REDIRECT_LOOP  302 to a new URL of the same loop, forever

Faults apply to the next `times` requests whose path starts with the given prefix (None: all of them),
so "rate limited twice, then fine" and "down for good" are both one line:

    with FaultServer(upstream=slack.base_url) as proxy:
        proxy.inject("/api/chat.postMessage", Fault(FaultKind.LOST_REPLY), times=2)
        client = WebClient(token="xoxb-test", base_url=proxy.base_url + "/api/", timeout=2)
"""

from __future__ import annotations

import enum
import http.client
import socket
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from vocwatch.testing.background_server import BackgroundServer

__all__ = ["Fault", "FaultKind", "FaultServer", "Hit"]

_CHUNK = 64 * 1024
_PORTAL = b"<!doctype html><html><head><title>Wi-Fi login</title></head><body>Please log in</body></html>"


class FaultKind(enum.StrEnum):
    SLOW = "slow"
    STALL = "stall"
    RESET = "reset"
    LOST_REPLY = "lost_reply"
    STATUS = "status"
    TRUNCATED = "truncated"
    WRONG_TYPE = "wrong_type"
    HUGE = "huge"
    REDIRECT_LOOP = "redirect_loop"


@dataclass(frozen=True)
class Fault:
    """One kind of misbehaviour; `status`/`retry_after` for STATUS, `size`/`declare_length` for HUGE,
    `stall_s` bounds a STALL (the server thread gives up after it, or when the server stops) and delays
    a SLOW answer."""

    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    size: int = 40 * 1024 * 1024
    declare_length: bool = True
    stall_s: float = 60.0


@dataclass(frozen=True)
class Hit:
    """One request the server saw, and the fault it got (None: served normally)."""

    method: str
    path: str
    fault: FaultKind | None


@dataclass
class _Rule:
    prefix: str
    fault: Fault
    remaining: int | None


@dataclass
class _Content:
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


class FaultServer(BackgroundServer):
    """Thread-safe: tests inject faults and read `hits` while clients in other threads or processes talk."""

    thread_name = "fault-server"
    poll_interval_s = 0.05

    def __init__(self, *, upstream: str | None = None, host: str = "127.0.0.1") -> None:
        self._upstream = urlsplit(upstream) if upstream else None
        self._host = host
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._contents: dict[str, _Content] = {}
        self._hits: list[Hit] = []
        self._stopping = threading.Event()

    def make_server(self) -> ThreadingHTTPServer:
        self._stopping.clear()
        server = _Server((self._host, 0), _Handler)
        server.faults = self
        return server

    def stop(self) -> None:
        self._stopping.set()  # releases stalled handler threads
        super().stop()

    @property
    def base_url(self) -> str:
        return self.origin

    def url(self, path: str) -> str:
        return self.origin + "/" + path.lstrip("/")

    # -- scripting --------------------------------------------------------------------------------------

    def serve(self, path: str, body: bytes, content_type: str, headers: Mapping[str, str] = {}) -> None:
        """Serve fixed bytes at `path` (when no upstream is set, or to override it)."""
        with self._lock:
            self._contents[path] = _Content(body, content_type, dict(headers))

    def inject(self, prefix: str, fault: Fault, *, times: int | None = None) -> None:
        """Give the next `times` requests under `prefix` this fault (None: every one, until `clear`)."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        with self._lock:
            self._rules.append(_Rule(prefix, fault, times))

    def clear(self) -> None:
        """Remove every injected fault: from now on the server behaves."""
        with self._lock:
            self._rules.clear()

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def hits_for(self, prefix: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path.startswith(prefix)]

    # -- serving (server threads) -----------------------------------------------------------------------

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            fault = None
            for rule in self._rules:
                if path.startswith(rule.prefix):
                    fault = rule.fault
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    break
            self._hits.append(Hit(method, path, fault.kind if fault else None))
            return fault

    def _content(self, path: str) -> _Content | None:
        with self._lock:
            return self._contents.get(urlsplit(path).path)

    def _forward(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        assert self._upstream is not None and self._upstream.hostname is not None
        connection = http.client.HTTPConnection(self._upstream.hostname, self._upstream.port, timeout=30)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def wait_stalled(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early when the server stops."""
        self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    faults: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up (timeouts, resets we caused) are the point of this server: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are recorded in `FaultServer.hits`."""

    def _handle(self) -> None:
        faults = self.server.faults
        fault = faults._take(self.command, self.path)
        if fault is not None and fault.kind == FaultKind.RESET:
            self._reset()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if fault is not None and fault.kind == FaultKind.STALL:
            faults.wait_stalled(fault.stall_s)
            self.close_connection = True
            return
        if fault is not None and fault.kind == FaultKind.SLOW:
            faults.wait_stalled(fault.stall_s)
        if fault is not None and fault.kind == FaultKind.STATUS:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            page = f"<html><body><h1>{fault.status} {HTTPStatus(fault.status).phrase}</h1></body></html>"
            self._send(fault.status, headers, page.encode(), "text/html; charset=utf-8")
            return
        if fault is not None and fault.kind == FaultKind.WRONG_TYPE:
            self._send(200, {}, _PORTAL, "text/html; charset=utf-8")
            return
        if fault is not None and fault.kind == FaultKind.REDIRECT_LOOP:
            split = urlsplit(self.path)
            hop = int(split.query.rpartition("loop=")[2] or 0) if "loop=" in split.query else 0
            self._send(302, {"Location": f"{split.path}?loop={hop + 1}"}, b"", "text/plain")
            return
        if fault is not None and fault.kind == FaultKind.HUGE:
            self._huge(fault)
            return
        status, headers, payload = self._real_answer(body)
        if fault is not None and fault.kind == FaultKind.LOST_REPLY:
            self._reset()  # the upstream has acted on the request; its answer never arrives
            return
        if fault is not None and fault.kind == FaultKind.TRUNCATED:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _real_answer(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        faults = self.server.faults
        content = faults._content(self.path)
        if content is not None:
            return 200, [("Content-Type", content.content_type), *content.headers.items()], content.body
        if faults._upstream is None:
            return 404, [("Content-Type", "text/plain")], b"not found"
        headers = {name: value for name, value in self.headers.items()}
        return faults._forward(self.command, self.path, headers, body)

    def _send(self, status: int, headers: Mapping[str, str], body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _huge(self, fault: Fault) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        if fault.declare_length:
            self.send_header("Content-Length", str(fault.size))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"<x>" + b"a" * (_CHUNK - 7) + b"</x>"
        sent = 0
        try:
            while sent < fault.size and not self.server.faults._stopping.is_set():
                piece = chunk[: fault.size - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except OSError:  # the client refused the body (max size) and hung up: as intended
            pass
        self.close_connection = True

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the peer gets a TCP RST (ECONNRESET), not a clean end of stream."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
