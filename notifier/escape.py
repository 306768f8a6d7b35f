"""Make customer text safe to put into Slack `mrkdwn`.

Customer text is hostile input as far as Slack is concerned: `<!channel>` pings a whole channel, `<@U123>`
mentions a person and `<http://evil|your bank>` forges a link. Slack's control sequences all start with `<`,
so escaping the three characters Slack documents (`&`, `<`, `>`) makes such text arrive literally.

Length limits are counted on the *escaped* text (that is what Slack measures), so cutting has to avoid
splitting an entity like `&amp;` or a grapheme such as a flag or a family emoji; otherwise Slack shows
mojibake or rejects the block.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import regex

__all__ = ["ELLIPSIS", "escape_and_truncate", "escape_mrkdwn", "is_linkable", "safe_link", "truncate"]

ELLIPSIS = "…"

_GRAPHEME = regex.compile(r"\X")
_WHITESPACE = re.compile(r"\s+")
# Characters that would end or split Slack's `<url|label>` syntax, or that a URL never contains raw.
_URL_UNSAFE = {
    "<": "%3C",
    ">": "%3E",
    "|": "%7C",
    " ": "%20",
    '"': "%22",
    "`": "%60",
}
_LINK_SCHEMES = frozenset({"http", "https"})


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's control characters so customer text can't @-mention, ping a channel or forge a link.

    `&` goes first so that the entities produced for `<` and `>` are not escaped twice.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Cut `text` to at most `limit` characters on a grapheme boundary, marking the cut with `ellipsis`.

    Cutting by code point can split a combining accent from its letter or an emoji ZWJ sequence in two;
    `\\X` (extended grapheme clusters, Unicode UAX #29) keeps each user-perceived character whole.
    """
    return _cut(text, limit, ellipsis=ellipsis, render=_identity)


def escape_and_truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Escape `text` and cut it so that the *escaped* result is at most `limit` characters.

    Escaping after cutting could overrun the limit (`&` becomes five characters) and cutting after
    escaping could split `&amp;`; measuring each grapheme in its escaped form avoids both.
    """
    return _cut(text, limit, ellipsis=ellipsis, render=escape_mrkdwn)


def safe_link(url: str, label: str) -> str:
    """Return a Slack link `<url|label>` for an http(s) URL, or just the escaped label for anything else.

    The URL comes from a crawled page, so it is untrusted too: a `javascript:` or `slack://` URL must not
    become clickable, and `|`, `<` or `>` inside it must not end the link early and smuggle in a label or a
    mention. Those characters are percent-encoded (the URL keeps its meaning) and `&` is entity-escaped
    like everywhere else in `mrkdwn`. The label is collapsed to one line and escaped.
    """
    shown = escape_mrkdwn(_WHITESPACE.sub(" ", label).strip())
    if not is_linkable(url):
        return shown
    target = "".join(_URL_UNSAFE.get(ch, ch) for ch in url.strip()).replace("&", "&amp;")
    if not shown:
        return f"<{target}>"
    return f"<{target}|{shown}>"


def is_linkable(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no control characters: the only links we make."""
    cleaned = url.strip()
    if not cleaned or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cleaned):
        return False
    try:
        parts = urlsplit(cleaned)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return False
    return parts.scheme.lower() in _LINK_SCHEMES and bool(parts.netloc)


def _identity(text: str) -> str:
    return text


def _cut(text: str, limit: int, *, ellipsis: str, render: Callable[[str], str]) -> str:
    if limit < len(ellipsis) or limit <= 0:
        raise ValueError(f"limit must be at least {max(len(ellipsis), 1)}, got {limit}")
    whole = render(text)
    if len(whole) <= limit:
        return whole
    budget = limit - len(ellipsis)
    pieces: list[str] = []
    used = 0
    for match in _GRAPHEME.finditer(text):
        piece = render(match.group())
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces).rstrip() + ellipsis
