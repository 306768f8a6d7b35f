"""GatedSite: a feed server whose pages can be held back until the test lets them go.

Fault tests need a crawl to be at a known point when the fault lands: "page 1 is stored, page 2 is about
to be stored". Timing a sleep against a crawler in another process is flaky; holding the HTTP answer is
not. A held page's request is recorded when it arrives and answered when `release(path)` is called (or
when the site stops), so the test decides exactly when the crawler gets the items it will then store:

    with GatedSite(paged_feed("forum", pages=3, per_page=50)) as site:
        site.hold("/forum/page-2.atom")
        ...                                   # start the crawl, wait for page 1's rows
        site.wait_requested("/forum/page-2.atom", timeout_s=60)
        ...                                   # inject the fault
        site.release("/forum/page-2.atom")    # now the crawler parses and stores page 2
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from vocwatch.testing.background_server import BackgroundServer

__all__ = ["GatedSite"]

_HOLD_LIMIT_S = 120.0  # a held request is answered after this even if never released (no hung threads)


class GatedSite(BackgroundServer):
    """Serves `pages` (path -> Atom bytes); thread-safe, the crawler runs in another process."""

    thread_name = "gated-site"
    poll_interval_s = 0.05

    def __init__(self, pages: Mapping[str, bytes], *, content_type: str = "application/atom+xml") -> None:
        self._pages = dict(pages)
        self._content_type = content_type
        self._lock = threading.Lock()
        self._gates: dict[str, threading.Event] = {}
        self._requested: list[str] = []
        self._stopping = threading.Event()

    def make_server(self) -> ThreadingHTTPServer:
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.site = self
        return server

    def stop(self) -> None:
        self._stopping.set()  # answers every held request, so the server threads end
        super().stop()

    def url(self, path: str) -> str:
        return self.origin + "/" + path.lstrip("/")

    def hold(self, path: str) -> None:
        """Answer requests for `path` only once `release(path)` is called."""
        with self._lock:
            self._gates[path] = threading.Event()

    def release(self, path: str) -> None:
        with self._lock:
            gate = self._gates.pop(path, None)
        if gate is not None:
            gate.set()

    def requested(self, path: str) -> int:
        """How many requests for `path` have arrived (held ones included)."""
        with self._lock:
            return self._requested.count(path)

    def wait_requested(self, path: str, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.requested(path):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for a request of {path}")
            time.sleep(0.02)

    def _answer(self, raw_path: str) -> bytes | None:
        path = urlsplit(raw_path).path
        with self._lock:
            self._requested.append(path)
            gate = self._gates.get(path)
            body = self._pages.get(path)
        if gate is not None:
            deadline = time.monotonic() + _HOLD_LIMIT_S
            while not gate.wait(0.05) and not self._stopping.is_set() and time.monotonic() < deadline:
                pass
        return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: GatedSite

    def handle_error(self, request: object, client_address: object) -> None:
        """A crawler killed or timed out while its page was held is expected here."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = self.server.site._answer(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        self.send_response(200)
        self.send_header("Content-Type", self.server.site._content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests are counted by `GatedSite.requested`."""
