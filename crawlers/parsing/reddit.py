"""Reddit JSON API responses → MentionItems (pure).

Two shapes arrive: a Listing (`/search`, `/r/<sub>/new`: `{kind: "Listing", data: {children, after}}`) and
a submission page (`/comments/<id>`: an array of two Listings, the submission and its comment tree). Every
child is `{kind, data}`: `t3` a submission, `t1` a comment, `more` a stub of comments not sent (skipped:
loading them costs one call per stub). A comment's `replies` is "" when it has none, else a Listing.
Requests ask for `raw_json=1`, so text fields are not entity-escaped; `*_html` fields are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy.http import Response
from w3lib.url import add_or_replace_parameter

from crawlers.items import MentionItem
from crawlers.parsing.jsonapi import (
    ApiPage,
    as_count,
    as_cursor,
    as_list,
    as_mapping,
    as_str,
    epoch_to_utc,
    raw_json,
    read_json,
)
from crawlers.parsing.text import normalise_whitespace

__all__ = ["WEB_URL", "comments_path", "parse_reddit", "read_reddit"]

WEB_URL = "https://www.reddit.com"  # where people read a thing, whichever API host served it


def parse_reddit(response: Response, *, source: str) -> Iterator[MentionItem]:
    """Yield the submissions and comments of a Listing or a submission page, in the order sent."""
    yield from read_reddit(response, source=source).items


def read_reddit(response: Response, *, source: str) -> ApiPage:
    """A Listing continues with `after` (None at the end); a submission page is one tree, not ordered."""
    document = read_json(response)
    if isinstance(document, list):  # a submission page: [submission Listing, comment Listing]
        items = [item for listing in document for item in _walk(as_mapping(listing), source=source)]
        return ApiPage(items=tuple(items), ordered=False)
    listing = as_mapping(document)
    items = list(_walk(listing, source=source))
    after = as_cursor(as_mapping(listing.get("data")).get("after"))
    next_url = add_or_replace_parameter(response.url, "after", after) if after and items else None
    return ApiPage(items=tuple(items), next_url=next_url)


def comments_path(fullname: str) -> str | None:
    """The API path of a submission's comment tree, from its fullname (`t3_abc` → `/comments/abc`)."""
    kind, _, base36 = fullname.partition("_")
    return f"/comments/{base36}" if kind == "t3" and base36 else None


def _walk(listing: Mapping[str, Any], *, source: str) -> Iterator[MentionItem]:
    """Depth first over a Listing: a comment, then its replies (`replies` is "" when there are none)."""
    for child in as_list(as_mapping(listing.get("data")).get("children")):
        child = as_mapping(child)
        data = as_mapping(child.get("data"))
        kind = child.get("kind")
        if kind == "t3":
            yield _submission(data, source=source)
        elif kind == "t1":
            yield _comment(data, source=source)
            yield from _walk(as_mapping(data.get("replies")), source=source)
        # "more" stubs and unknown kinds carry no text of their own


def _submission(data: Mapping[str, Any], *, source: str) -> MentionItem:
    title = normalise_whitespace(as_str(data.get("title")) or "")
    body = normalise_whitespace(as_str(data.get("selftext")) or "")
    return MentionItem(
        source=source,
        external_id=as_str(data.get("name")) or "",
        url=_web_url(as_str(data.get("permalink"))),
        text="\n\n".join(part for part in (title, body) if part),
        raw=raw_json(data),
        title=title or None,
        author=as_str(data.get("author")),
        published_at=epoch_to_utc(data.get("created_utc")),
        score=as_count(data.get("score")),
        replies=as_count(data.get("num_comments")),
    )


def _comment(data: Mapping[str, Any], *, source: str) -> MentionItem:
    permalink = as_str(data.get("permalink"))
    if permalink is None:  # older comment listings have none: build the canonical one
        link = (as_str(data.get("link_id")) or "").partition("_")[2]
        comment = as_str(data.get("id"))
        permalink = f"/comments/{link}/_/{comment}/" if link and comment else None
    return MentionItem(
        source=source,
        external_id=as_str(data.get("name")) or "",
        url=_web_url(permalink),
        text=normalise_whitespace(as_str(data.get("body")) or ""),
        raw=raw_json(data),
        author=as_str(data.get("author")),
        published_at=epoch_to_utc(data.get("created_utc")),
        score=as_count(data.get("score")),
        parent_external_id=as_str(data.get("parent_id")),  # t1_… (a comment) or t3_… (the submission)
        thread_external_id=as_str(data.get("link_id")),  # the submission's fullname
    )


def _web_url(permalink: str | None) -> str:
    """The permalink on www.reddit.com without its query (`?ref=search_posts` would break dedup)."""
    if not permalink:
        return ""
    try:
        parts = urlsplit(permalink)
    except ValueError:  # "//[x": not a link at all (urllib's IPv6 and NFKC netloc checks)
        return ""
    return WEB_URL + urlunsplit(("", "", parts.path, "", ""))
