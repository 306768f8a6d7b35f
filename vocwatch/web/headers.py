"""Security headers on every response, as a small pure-ASGI middleware (no per-request task overhead).

The CSP allows scripts, styles and images from this origin only (no inline script or style, so an
injected `<script>` or `style=` attribute does nothing even if escaping ever failed); `data:` images for
nothing but icons; no framing (clickjacking), no plugins, forms only back to us.
"""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from vocwatch.web.asgi import HttpMiddleware

__all__ = ["CONTENT_SECURITY_POLICY", "SecurityHeadersMiddleware"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware(HttpMiddleware):
    """Adds the headers above; pages (not static files) also get `Cache-Control: no-store`, since they
    show customer data that must not linger in shared caches or the back button after logout."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_HEADERS)
                if not is_static:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
