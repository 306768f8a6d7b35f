"""RSS 2.0 / RSS 0.9x / Atom feeds → MentionItems (pure: a response in, items out).

feedparser reads the raw bytes (never text decoded by someone else): it understands the XML declaration,
CDATA, escaped HTML and the many date formats in the wild. We only help it with the encoding (see
`crawlers.parsing.encoding`) and hand it a stream, never a string: given a string, feedparser would treat
it as a URL or a local file name and go and read that.
"""

from __future__ import annotations

import calendar
import io
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import feedparser
from scrapy.http import Response

from crawlers.errors import FeedError
from crawlers.items import MentionItem
from crawlers.parsing.dates import parse_date
from crawlers.parsing.encoding import detect_encoding
from crawlers.parsing.links import join_url
from crawlers.parsing.text import clean_text, normalise_whitespace

__all__ = ["FeedPage", "parse_feed", "read_feed"]

logger = logging.getLogger(__name__)

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_NAME_AND_ADDRESS = re.compile(r"(?P<outside>[^()]*)\((?P<inside>[^()]*)\)")  # "a@b.c (Name)", "Name (a@b.c)"
_NAME_ANGLE_ADDRESS = re.compile(r"(?P<name>[^<>]*)<[^<>@]+@[^<>]+>")  # "Name <a@b.c>"
# The entry fields kept verbatim in `raw`: what the feed said, before any cleaning.
_RAW_FIELDS = ("id", "link", "feedburner_origlink", "title", "author", "published", "updated", "summary")


@attrs.frozen
class FeedPage:
    """One fetched feed document: its entries as items, and the next page for paged feeds (RFC 5005)."""

    items: tuple[MentionItem, ...]
    next_url: str | None = None
    title: str | None = None


def parse_feed(response: Response, *, source: str) -> Iterator[MentionItem]:
    """Yield one MentionItem per feed entry, newest first as the feed lists them.

    external_id is the entry's guid/id, else its link; an entry with neither (or with no text and no
    title) is still yielded with what it has, for `ValidatePipeline` to drop and count: a parser that
    silently skipped it would hide a broken source.
    """
    yield from read_feed(response, source=source).items


def read_feed(response: Response, *, source: str) -> FeedPage:
    """Parse the whole document; raise FeedError when the body is not a feed at all."""
    content_type = _header(response, "Content-Type")
    encoding = detect_encoding(response.body, content_type)
    # No content-location: feedparser would resolve guids (permalinks by default in RSS 2.0) against
    # the feed URL, and an id must not change when the feed moves. Links are resolved below instead.
    headers: dict[str, str] = {}
    if encoding is not None:
        headers["content-type"] = f"application/xml; charset={encoding}"
    if language := _header(response, "Content-Language"):
        headers["content-language"] = language
    try:
        parsed = feedparser.parse(io.BytesIO(response.body), response_headers=headers)
    except ValueError as exc:  # feedparser lets some escape: `encoding="ut\0f-8"` on an undecodable body
        raise FeedError(f"{response.url}: not readable as a feed: {exc!s:.200}") from None
    if not parsed.get("version") and not parsed.entries:
        reason = f": {parsed.get('bozo_exception')!s:.200}" if parsed.get("bozo") else ""
        raise FeedError(f"{response.url}: not an RSS/Atom feed{reason}")
    if parsed.get("bozo"):
        logger.debug("%s: feed is not well-formed, read leniently: %s", response.url, parsed.bozo_exception)
    feed: Mapping[str, Any] = parsed.feed
    feed_lang = _primary_language(feed.get("language") or language)
    items = tuple(_to_item(entry, response, source=source, feed_lang=feed_lang) for entry in parsed.entries)
    feed_title = normalise_whitespace(feed.get("title") or "") or None
    next_url = _link(feed, "next")
    next_page = join_url(response, next_url) if next_url else None
    return FeedPage(items=items, next_url=next_page, title=feed_title)


def _to_item(
    entry: Mapping[str, Any], response: Response, *, source: str, feed_lang: str | None
) -> MentionItem:
    link = (entry.get("feedburner_origlink") or entry.get("link") or "").strip()
    url = (join_url(response, link) or "") if link else ""
    title = _clean_detail(entry, "title") or None
    text = _body_text(entry) or title or ""
    return MentionItem(
        source=source,
        external_id=(entry.get("id") or "").strip() or url,
        url=url,
        text=text,
        raw=_raw(entry),
        title=title,
        author=_author(entry),
        published_at=_published_at(entry),
        lang=_primary_language(_detail_language(entry)) or feed_lang,
    )


def _body_text(entry: Mapping[str, Any]) -> str:
    """The fullest text the entry has: `content` (content:encoded, Atom content), else the summary."""
    for content in entry.get("content") or ():
        if text := clean_text(content.get("value"), is_html=_is_html(content)):
            return text
    return _clean_detail(entry, "summary")


def _clean_detail(entry: Mapping[str, Any], field: str) -> str:
    detail = entry.get(f"{field}_detail") or {}
    return clean_text(entry.get(field), is_html=_is_html(detail))


def _is_html(detail: Mapping[str, Any]) -> bool:
    return str(detail.get("type", "")).lower() in _HTML_TYPES


def _author(entry: Mapping[str, Any]) -> str | None:
    """The author's display name. RSS `<author>` is an e-mail address, often with the name in brackets
    ("press@acme.example (Press Office)"): a name is kept, an address is not (personal data we have no use
    for; it stays in `raw`). Parsed here because feedparser's address pattern stops at 4-letter TLDs."""
    value = normalise_whitespace(entry.get("author") or "")
    if (match := _NAME_AND_ADDRESS.fullmatch(value)) and "@" in value:
        parts = [match["outside"], match["inside"]]
    elif match := _NAME_ANGLE_ADDRESS.fullmatch(value):
        parts = [match["name"]]
    else:
        parts = [value]
    return next((part.strip() for part in parts if part.strip() and "@" not in part), None)


def _published_at(entry: Mapping[str, Any]) -> datetime | None:
    """When the entry was published, in UTC, or None when the feed says nothing readable.

    feedparser normalises the dates it understands to a UTC struct_time; for the others (an RFC 822 date
    with Portuguese day and month names, "Seg, 24 Set 2018 19:42:40 -0300") the printed value is read by
    `parsing.dates`: a backlog stored without dates would all count as "now" (a false spike, a swollen
    digest, and a lookback that cannot drop old items).
    """
    for field in ("published", "updated", "created"):
        value: time.struct_time | None = _own(entry, f"{field}_parsed")
        if value is not None:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
        printed = _own(entry, field)
        if isinstance(printed, str) and (when := parse_date(printed, now=datetime.now(UTC), tz=UTC)):
            return when
    return None


def _detail_language(entry: Mapping[str, Any]) -> str | None:
    for field in ("content", "summary_detail", "title_detail"):
        details = entry.get(field)
        for detail in details if isinstance(details, list) else [details or {}]:
            if language := detail.get("language"):
                return str(language)
    return None


def _primary_language(tag: str | None) -> str | None:
    """'en-GB' → 'en', 'zh-cn' → 'zh': a hint for the analyzer, which detects the language itself too."""
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _link(feed: Mapping[str, Any], rel: str) -> str | None:
    for link in feed.get("links") or ():
        if link.get("rel") == rel and link.get("href"):
            return str(link["href"])
    return None


def _raw(entry: Mapping[str, Any]) -> str:
    """The entry's own strings as the feed sent them (HTML and all), as compact JSON."""
    # `in`, not .get(): feedparser's .get("updated") falls back to "published", which the feed never said.
    raw: dict[str, Any] = {field: _own(entry, field) for field in _RAW_FIELDS if _own(entry, field)}
    if contents := [c.get("value") for c in entry.get("content") or () if c.get("value")]:
        raw["content"] = contents
    if tags := [t.get("term") for t in entry.get("tags") or () if t.get("term")]:
        raw["tags"] = tags
    return json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _own(entry: Mapping[str, Any], field: str) -> Any:
    """A field the entry really has. FeedParserDict.get("updated") falls back to "published" (with a
    DeprecationWarning): `raw` must hold what the feed said, and dates must not be guessed twice."""
    return dict.get(entry, field) if isinstance(entry, dict) else entry.get(field)
