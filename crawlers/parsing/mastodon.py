"""Mastodon API responses → MentionItems (pure).

A timeline (`/api/v1/timelines/tag/:tag`) is a JSON array of statuses; a search (`/api/v2/search`) is
`{accounts, statuses, hashtags}`. `content` is HTML; `spoiler_text` is the content warning, kept as the
title. Boosts (`reblog` set) are skipped: the boosted status is the mention, and it appears on its own
where it matches. The identity is the status `uri`, which is the same on every instance (the `id` is
only valid on the instance that served it). A reply's parent is `in_reply_to_id`, kept as that
instance-local id because the answer does not give the parent's uri. Timelines page through the `Link`
header (`rel="next"` with `max_id`); search answers carry none, so the next page asks for `max_id` of the
oldest status.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from scrapy.http import Response
from w3lib.url import add_or_replace_parameter, url_query_parameter

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
from crawlers.parsing.text import clean_text, normalise_whitespace

__all__ = ["link_header_next", "parse_mastodon", "read_mastodon"]

_LINK = re.compile(r'<(?P<url>[^>]*)>\s*;\s*rel="?(?P<rel>[^";]+)"?')


def parse_mastodon(response: Response, *, source: str) -> Iterator[MentionItem]:
    yield from read_mastodon(response, source=source).items


def read_mastodon(response: Response, *, source: str) -> ApiPage:
    """Statuses newest first; `newest` is the newest status id (for `since_id` next run)."""
    document = read_json(response)
    statuses: Sequence[Any] = (
        document if isinstance(document, list) else as_list(as_mapping(document).get("statuses"))
    )
    statuses = [as_mapping(status) for status in statuses]
    items = tuple(_status(status, source=source) for status in statuses if not status.get("reblog"))
    ids = [as_cursor(status.get("id")) for status in statuses]
    next_url = link_header_next(response)
    if next_url is None and not isinstance(document, list) and ids and ids[-1]:
        limit = url_query_parameter(response.url, "limit")
        if (
            limit is not None and limit.isdigit() and len(statuses) >= int(limit)
        ):  # a full page: more may follow
            next_url = add_or_replace_parameter(response.url, "max_id", ids[-1])
    return ApiPage(items=items, next_url=next_url, newest=ids[0] if ids else None)


def link_header_next(response: Response) -> str | None:
    """The `rel="next"` URL of an RFC 8288 `Link` header, or None."""
    header = response.headers.get("Link")
    if not header:
        return None
    for match in _LINK.finditer(header.decode("latin-1")):
        if "next" in match["rel"].split():
            return match["url"]
    return None


def _status(status: Mapping[str, Any], *, source: str) -> MentionItem:
    account = as_mapping(status.get("account"))
    return MentionItem(
        source=source,
        external_id=as_str(status.get("uri")) or as_str(status.get("url")) or "",
        url=as_str(status.get("url")) or as_str(status.get("uri")) or "",
        text=clean_text(as_str(status.get("content")), is_html=True),
        raw=raw_json(status),
        title=normalise_whitespace(as_str(status.get("spoiler_text")) or "") or None,
        author=as_str(account.get("acct")),
        published_at=iso_to_utc(status.get("created_at")),
        lang=primary_language(status.get("language")),
        author_followers=as_count(account.get("followers_count")),
        replies=as_count(status.get("replies_count")),
        reposts=as_count(status.get("reblogs_count")),
        likes=as_count(status.get("favourites_count")),
        # The parent's uri cannot be built from the API answer (it names the parent's instance-local
        # id and account id only), so the id, valid on the instance that served this status, is kept.
        parent_external_id=as_str(status.get("in_reply_to_id")),
    )
