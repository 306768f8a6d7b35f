"""Hacker News Algolia search responses → MentionItems (pure).

`/api/v1/search_by_date` answers `{hits, page, nbPages, ...}`, newest first. A story's text is its title
plus `story_text` (HTML, often null); a comment's is `comment_text` (HTML). `_highlightResult` wraps
matches in `<em>` and is never read. Pages are 0-based; Algolia caps `nbPages` at 1000 whatever `nbHits`
says. `newest` is the newest `created_at_i`, which the next run sends as `numericFilters=created_at_i>=…`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scrapy.http import Response
from w3lib.url import add_or_replace_parameter

from crawlers.items import MentionItem
from crawlers.parsing.jsonapi import (
    ApiPage,
    as_count,
    as_list,
    as_mapping,
    as_str,
    epoch_to_utc,
    iso_to_utc,
    raw_json,
    read_json,
)
from crawlers.parsing.text import clean_text, normalise_whitespace

__all__ = ["ITEM_URL", "parse_hackernews", "read_hackernews"]

ITEM_URL = "https://news.ycombinator.com/item?id={}"


def parse_hackernews(response: Response, *, source: str) -> Iterator[MentionItem]:
    yield from read_hackernews(response, source=source).items


def read_hackernews(response: Response, *, source: str) -> ApiPage:
    document = as_mapping(read_json(response))
    hits = [as_mapping(hit) for hit in as_list(document.get("hits"))]
    items = tuple(_hit(hit, source=source) for hit in hits)
    page, pages = as_count(document.get("page")), as_count(document.get("nbPages"))
    next_url = None
    if hits and page is not None and pages is not None and page + 1 < pages:
        next_url = add_or_replace_parameter(response.url, "page", str(page + 1))
    stamps = [stamp for hit in hits if (stamp := as_count(hit.get("created_at_i"))) is not None]
    return ApiPage(items=items, next_url=next_url, newest=str(max(stamps)) if stamps else None)


def _hit(hit: Mapping[str, Any], *, source: str) -> MentionItem:
    object_id = as_str(hit.get("objectID")) or ""
    title = normalise_whitespace(as_str(hit.get("title")) or "") or None
    if hit.get("comment_text") is not None:
        text = clean_text(as_str(hit.get("comment_text")), is_html=True)
    else:
        body = clean_text(as_str(hit.get("story_text")), is_html=True)
        text = "\n\n".join(part for part in (title, body) if part)
    return MentionItem(
        source=source,
        external_id=object_id,
        url=ITEM_URL.format(object_id) if object_id else "",
        text=text,
        raw=raw_json({k: v for k, v in hit.items() if k != "_highlightResult"}),
        title=title,
        author=as_str(hit.get("author")),
        published_at=epoch_to_utc(hit.get("created_at_i")) or iso_to_utc(hit.get("created_at")),
        score=as_count(hit.get("points")),
        replies=as_count(hit.get("num_comments")),
        parent_external_id=as_str(hit.get("parent_id")),  # comments only: the story or comment replied to
        thread_external_id=as_str(hit.get("story_id")) if hit.get("comment_text") is not None else None,
    )
