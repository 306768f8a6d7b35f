"""Apple App Store customer-reviews feed (the legacy iTunes RSS, JSON flavour) → MentionItems (pure).

`/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json` answers `{feed: {entry, link}}`
with every value wrapped as `{"label": …}`. The rating is a string "1"–"5" (normalised to 0..1 like every
kind: 1 star 0, 5 stars 1); the app version is kept in `raw`. Oddities handled: a feed with one review has
`entry` as an object, not a list; old feeds start with an entry for the app itself, which has no rating and
is skipped; many captures carry no per-entry date (`updated` is read when present).

Apple serves at most 10 pages of 50 reviews. The feed's `next` link points at the XML flavour, so the next
page is the current URL with `page=` incremented, up to the `last` page. A full 10th page means the feed
hid older reviews from us (`truncated`); with exactly 500 reviews that cannot be told apart and is also
reported as truncated: saying "maybe more" beats claiming a complete read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from scrapy.http import Response

from crawlers.items import MentionItem
from crawlers.parsing.jsonapi import (
    ApiPage,
    as_count,
    as_list,
    as_mapping,
    as_str,
    iso_to_utc,
    raw_json,
    read_json,
)
from crawlers.parsing.ratings import RatingScale, normalise_rating
from crawlers.parsing.text import normalise_whitespace

__all__ = ["FEED_PAGE_CAP", "FEED_PAGE_SIZE", "feed_url", "parse_appstore", "read_appstore"]

FEED_PAGE_CAP = 10  # Apple serves no page after the 10th
FEED_PAGE_SIZE = 50
_PAGE = re.compile(r"/page=(\d+)")


def feed_url(base_url: str, *, country: str, app_id: str, page: int = 1) -> str:
    return (
        f"{base_url.rstrip('/')}/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
    )


def parse_appstore(response: Response, *, source: str) -> Iterator[MentionItem]:
    yield from read_appstore(response, source=source).items


def read_appstore(response: Response, *, source: str) -> ApiPage:
    feed = as_mapping(as_mapping(read_json(response)).get("feed"))
    entry = feed.get("entry")  # exactly one review comes as an object, not a list
    entries = [as_mapping(e) for e in ([entry] if isinstance(entry, Mapping) else as_list(entry))]
    items = tuple(_review(entry, source=source) for entry in entries if _label(entry.get("im:rating")))
    page = _page_number(response.url)
    last = min(FEED_PAGE_CAP, _last_page(feed) or FEED_PAGE_CAP)
    next_url = None
    if page is not None and entries and page < last:
        next_url = _PAGE.sub(f"/page={page + 1}", response.url, count=1)
    truncated = page is not None and page >= FEED_PAGE_CAP and len(entries) >= FEED_PAGE_SIZE
    return ApiPage(items=items, next_url=next_url, truncated=truncated)


def _review(entry: Mapping[str, Any], *, source: str) -> MentionItem:
    stars = as_count(_label(entry.get("im:rating")))
    link = as_mapping(as_mapping(entry.get("link")).get("attributes"))
    return MentionItem(
        source=source,
        external_id=_label(entry.get("id")) or "",
        url=as_str(link.get("href")) or "",
        text=normalise_whitespace(_label(entry.get("content")) or ""),
        raw=raw_json(entry),
        title=normalise_whitespace(_label(entry.get("title")) or "") or None,
        author=_label(as_mapping(entry.get("author")).get("name")),
        published_at=iso_to_utc(_label(entry.get("updated"))),
        rating=normalise_rating(stars, RatingScale(best=5, worst=1)),
        likes=as_count(_label(entry.get("im:voteSum"))),
    )


def _label(value: Any) -> str | None:
    """`{"label": "x"}` → "x"."""
    return as_str(as_mapping(value).get("label"))


def _page_number(url: str) -> int | None:
    match = _PAGE.search(url)
    return int(match[1]) if match else None


def _last_page(feed: Mapping[str, Any]) -> int | None:
    links = feed.get("link")
    for link in [links] if isinstance(links, Mapping) else as_list(links):
        attributes = as_mapping(as_mapping(link).get("attributes"))
        if attributes.get("rel") == "last":
            return _page_number(as_str(attributes.get("href")) or "")
    return None
