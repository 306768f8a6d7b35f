"""Fuzz the JSON API parsers (Reddit, Mastodon, Bluesky, Hacker News, App Store) with poisoned responses.

Input: a response body. Every input is read by all five parsers, as a spider of each kind would read
whatever its API sent (a Reddit listing where Mastodon statuses were expected is an odd shape too).
The seeds in `corpus/json_apis/` are small responses of each API written by hand; the custom mutator
(`_harness.mutate_json`) keeps them JSON while poisoning leaves and reshaping subtrees. Allowed: FeedError
(not JSON, nested too deeply). Crash: any other exception, or a page or item of the wrong shape.

    python fuzz/fuzz_json_apis.py -max_total_time=300 out/fuzz/json_apis fuzz/corpus/json_apis
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import _harness

with _harness.instrumented():
    from crawlers.errors import FeedError
    from crawlers.parsing.appstore import read_appstore
    from crawlers.parsing.bluesky import read_bluesky
    from crawlers.parsing.hackernews import read_hackernews
    from crawlers.parsing.mastodon import read_mastodon
    from crawlers.parsing.reddit import read_reddit

# The URL each spider would have fetched: query parameters are read back for pagination (`limit`, `page=`).
READERS: tuple[tuple[Callable[..., Any], str], ...] = (
    (read_reddit, "https://oauth.reddit.com/r/acme/new.json?limit=2&raw_json=1"),
    (read_mastodon, "https://mastodon.example/api/v2/search?q=acme&type=statuses&limit=2"),
    (read_bluesky, "https://bsky.social/xrpc/app.bsky.feed.searchPosts?q=acme&limit=2"),
    (read_hackernews, "https://hn.algolia.com/api/v1/search_by_date?query=acme&tags=comment"),
    (read_appstore, "https://itunes.apple.com/us/rss/customerreviews/page=1/id=42/sortby=mostrecent/json"),
)


def check_page(page: Any) -> None:
    """An ApiPage's links are strings (the spider follows them) and its items are whole MentionItems."""
    for item in page.items:
        _harness.check_item(item)
    for name in ("next_url", "newest"):
        value = getattr(page, name)
        if value is not None and not isinstance(value, str):
            raise _harness.FuzzCrash(f"{name} is not str or None: {value!r:.200}")
    if not all(isinstance(url, str) for url in page.follow_urls):
        raise _harness.FuzzCrash(f"follow_urls holds a non-string: {page.follow_urls!r:.200}")


def test_one_input(data: bytes) -> None:
    for read, url in READERS:
        try:
            page = read(_harness.make_response(url, data), source="fuzz")
        except FeedError:
            continue
        check_page(page)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    return _harness.mutate_json(data, max_size, seed)


if __name__ == "__main__":
    _harness.fuzz(test_one_input, custom_mutator=custom_mutator)
