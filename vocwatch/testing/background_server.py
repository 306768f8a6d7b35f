"""BackgroundServer: an HTTP server on loopback served from a daemon thread, as a context manager.

The demo's local feed site and fake Slack are both real HTTP servers that tests and `vocwatch demo`
start, talk to over the network and stop (a stopped site is a source gone dark); this is the lifecycle
they share.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Self

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """Subclasses build their server in `make_server()`; port 0 lets the OS choose a free port."""

    thread_name = "http-server"
    poll_interval_s = 0.2

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        """Bind and serve from a daemon thread; starting a running server does nothing."""
        if self._server is not None:
            return self
        server = self.make_server()
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": self.poll_interval_s},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (afterwards connections are refused); safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() or use it as a context")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
