"""The 500 page: an unhandled error is logged once, here, and the browser sees a short apology only.

Without it Starlette answers a bare "Internal Server Error" (without the security headers, which are added
further in) and the server logs the exception with SQLAlchemy's bound parameters: customer text, usernames,
a new account's password hash. Here the log record keeps the statement but hides those values, and the
page shows nothing of the exception, the configuration or the database, only an id to find the log line.
"""

from __future__ import annotations

import logging
import secrets

from markupsafe import Markup
from sqlalchemy.exc import StatementError
from starlette.responses import HTMLResponse
from starlette.types import Message, Receive, Scope, Send

from vocwatch.web.asgi import HttpMiddleware

__all__ = ["ErrorPageMiddleware"]

_log = logging.getLogger(__name__)

_PAGE = Markup(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error · vocwatch review</title>'
    '<link rel="stylesheet" href="/static/app.css"></head><body><main><section class="error-page">'
    '<h1>Sorry</h1><p class="error" role="alert">Something went wrong on our side. Please try again; if '
    "it keeps happening, tell your administrator the error id <code>{}</code>.</p>"
    '<p><a href="/queue">Back to the queue</a></p></section></main></body></html>'
)


class ErrorPageMiddleware(HttpMiddleware):
    """Pure ASGI: catches what the routes and exception handlers let through. A response that already
    started (a streamed export) cannot be replaced; that exception is logged and re-raised."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            error_id = secrets.token_hex(4)
            _hide_parameters(exc)
            _log.exception("error %s on %s %s", error_id, scope.get("method"), scope.get("path"))
            if started:
                raise
            await HTMLResponse(_PAGE.format(error_id), status_code=500)(scope, receive, send)


def _hide_parameters(exc: BaseException | None) -> None:
    """SQLAlchemy prints a statement's bound values in its message unless told not to (per exception)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, StatementError):
            exc.hide_parameters = True
        exc = exc.__cause__ or exc.__context__
