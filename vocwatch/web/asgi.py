"""The base of the UI's pure-ASGI middlewares: they act on HTTP requests and pass everything else on.

Pure ASGI rather than Starlette's `BaseHTTPMiddleware`, which runs each request in an extra task and
cannot see a streamed response start.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HttpMiddleware"]


class HttpMiddleware:
    """Subclasses implement `handle` for `http` scopes; lifespan and websocket scopes go straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
