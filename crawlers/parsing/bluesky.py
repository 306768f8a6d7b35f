"""Bluesky `app.bsky.feed.searchPosts` responses → MentionItems (pure).

The answer is `{posts: [postView], cursor}`; the cursor is opaque and absent on the last page. A postView's
identity is its `at://` uri; the text is `record.text`, in which links are shown shortened ("example.com/
some…"): the full URL is in `record.facets`, addressed by UTF-8 byte offsets, and is put back here so the
text quoted in Slack links where the author meant. `record.createdAt` is client-supplied (µs precision, a
missing `Z`); `indexedAt`, the server's time, is the fallback.
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
    as_cursor,
    as_list,
    as_mapping,
    as_str,
    iso_to_utc,
    primary_language,
    raw_json,
    read_json,
)
from crawlers.parsing.text import normalise_whitespace

__all__ = ["expand_links", "parse_bluesky", "read_bluesky"]

_WEB_URL = "https://bsky.app/profile/{author}/post/{rkey}"
_LINK_FACET = "app.bsky.richtext.facet#link"


def parse_bluesky(response: Response, *, source: str) -> Iterator[MentionItem]:
    yield from read_bluesky(response, source=source).items


def read_bluesky(response: Response, *, source: str) -> ApiPage:
    document = as_mapping(read_json(response))
    posts = [as_mapping(post) for post in as_list(document.get("posts"))]
    items = tuple(_post(post, source=source) for post in posts)
    cursor = as_cursor(document.get("cursor"))
    next_url = add_or_replace_parameter(response.url, "cursor", cursor) if cursor and posts else None
    return ApiPage(items=items, next_url=next_url)


def expand_links(text: str, facets: Any) -> str:
    """Replace each link facet's shown text with its full URI. Offsets count UTF-8 bytes, not characters;
    a facet whose offsets do not fit the text is ignored rather than trusted. A lone surrogate (a JSON
    `\\ud800` escape) in the text or a URI is kept as it came, as every parser does (the store pipeline
    replaces it); `surrogatepass` lets it through the byte arithmetic instead of losing the page."""
    data = text.encode("utf-8", "surrogatepass")
    links: list[tuple[int, int, str]] = []
    for facet in facets if isinstance(facets, list) else ():
        facet = as_mapping(facet)
        index = as_mapping(facet.get("index"))
        start, end = index.get("byteStart"), index.get("byteEnd")
        uri = next(
            (
                as_str(f.get("uri"))
                for f in map(as_mapping, as_list(facet.get("features")))
                if f.get("$type") == _LINK_FACET
            ),
            None,
        )
        if isinstance(start, int) and isinstance(end, int) and uri and 0 <= start < end <= len(data):
            links.append((start, end, uri))
    for start, end, uri in sorted(links, reverse=True):  # from the end: earlier offsets stay valid
        data = data[:start] + uri.encode("utf-8", "surrogatepass") + data[end:]
    try:
        return data.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:  # a facet's offsets cut a character in two
        return data.decode("utf-8", errors="replace")


def _post(post: Mapping[str, Any], *, source: str) -> MentionItem:
    author = as_mapping(post.get("author"))
    record = as_mapping(post.get("record"))
    uri = as_str(post.get("uri")) or ""
    handle = as_str(author.get("handle"))
    langs = record.get("langs")
    reply = as_mapping(record.get("reply"))  # {parent: {uri, cid}, root: {uri, cid}} on replies only
    return MentionItem(
        source=source,
        external_id=uri,
        url=_web_url(uri, handle or as_str(author.get("did"))),
        text=normalise_whitespace(expand_links(as_str(record.get("text")) or "", record.get("facets"))),
        raw=raw_json(post),
        author=handle,
        published_at=iso_to_utc(record.get("createdAt")) or iso_to_utc(post.get("indexedAt")),
        lang=primary_language(langs[0]) if isinstance(langs, list) and langs else None,
        replies=as_count(post.get("replyCount")),
        reposts=as_count(post.get("repostCount")),
        likes=as_count(post.get("likeCount")),
        parent_external_id=as_str(as_mapping(reply.get("parent")).get("uri")),
        thread_external_id=as_str(as_mapping(reply.get("root")).get("uri")),
    )


def _web_url(uri: str, author: str | None) -> str:
    """`at://did/app.bsky.feed.post/<rkey>` → the bsky.app page of the post."""
    rkey = uri.rsplit("/", 1)[-1] if "/app.bsky.feed.post/" in uri else None
    return _WEB_URL.format(author=author, rkey=rkey) if author and rkey else ""
