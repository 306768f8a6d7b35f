"""Templates and the filters that make customer text safe to show.

Autoescaping is on for every template. Customer text additionally goes through `customer_text`, which
escapes it, turns only http(s) URLs into links (`rel="noopener noreferrer nofollow"`, new tab) and wraps
it in `<bdi>` so that right-to-left override characters cannot reorder the page around it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

from storage.enums import UserRole
from storage.users import UserRow
from vocwatch.web.security import can, csrf_token

__all__ = ["TEMPLATES", "customer_text", "render", "safe_url"]

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}’”"
_LINK = Markup('<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>')
_ISOLATED = Markup('<bdi dir="auto">{}</bdi>')


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None (never a javascript: link)."""
    if not url:
        return None
    cleaned = url.strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cleaned):
        return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return cleaned


def customer_text(text: str | None) -> Markup:
    """Escaped text with http(s) URLs as safe links, isolated for bidirectional text.

    Built only from `Markup` templates whose `.format` escapes every argument, so no piece of the
    customer's text reaches the page unescaped.
    """
    if not text:
        return Markup("")
    pieces: list[Markup] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING_PUNCTUATION)
        pieces.append(escape(text[last : match.start()]))
        target = safe_url(url)
        pieces.append(escape(url) if target is None else _LINK.format(target, url))
        last = match.start() + len(url)
    pieces.append(escape(text[last:]))
    return _ISOLATED.format(Markup("").join(pieces))


def _age(when: datetime | None) -> str:
    """ "3 h", "2 d": how long a case has waited, the unit CX leads think in."""
    if when is None:
        return "–"
    seconds = max(0.0, (datetime.now(UTC) - when).total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value is not None else "–"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("vocwatch.web", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(customer_text=customer_text, age=_age, when=_when, percent=_percent)
_environment.globals.update(safe_url=safe_url, can=can, Role=UserRole)
TEMPLATES = Jinja2Templates(env=_environment)


def render(
    request: Request, name: str, *, user: UserRow | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the current user and the session's CSRF token for its forms."""
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {"user": user, "csrf_token": csrf_token(request), **context},
        status_code=status_code,
    )
