"""Fuzz the RSS/Atom feed parser (`crawlers.parsing.rss.read_feed`, feedparser underneath).

Input: the feed body, then one last byte that picks the response's Content-Type and Content-Language
headers (FuzzedDataProvider reads numbers from the end): a lying charset label, no label, UTF-16, an
unknown label. The seeds in `corpus/feeds/` are small RSS 2.0, Atom, RSS 1.0 and GB18030 feeds written
by hand, each followed by one option character. feedparser is instrumented as well as our code: its
branches are where odd markup turns into odd values. Allowed: FeedError (not a feed at all). Crash:
any other exception, or an item of the wrong shape.

    python fuzz/fuzz_feeds.py -max_total_time=300 out/fuzz/feeds fuzz/corpus/feeds
"""

from __future__ import annotations

import _harness
import atheris  # type: ignore[import-untyped]  # atheris ships no type hints

with _harness.instrumented("feedparser"):
    from crawlers.errors import FeedError
    from crawlers.parsing.rss import read_feed

# (Content-Type, Content-Language) as servers send them, right and wrong.
HEADERS: tuple[tuple[str | None, str | None], ...] = (
    (None, None),
    ("application/rss+xml; charset=utf-8", None),
    ("application/atom+xml", "en-GB"),
    ("text/xml; charset=gbk", "zh-CN"),
    ("text/html; charset=iso-8859-1", None),
    ("application/xml; charset=utf-16", None),
    ("text/xml; charset=x-no-such-charset", "zz_ZZ"),
    ("application/octet-stream", None),
)


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    content_type, language = provider.PickValueInList(list(HEADERS))
    body = provider.ConsumeBytes(provider.remaining_bytes())
    headers = {"Content-Type": content_type, "Content-Language": language}
    response = _harness.make_response("https://news.example/feeds/acme.xml", body, headers=headers)
    try:
        page = read_feed(response, source="fuzz")
    except FeedError:
        return
    for item in page.items:
        _harness.check_item(item)
    if not (page.next_url is None or isinstance(page.next_url, str)):
        raise _harness.FuzzCrash(f"next_url is not str or None: {page.next_url!r:.200}")
    if not (page.title is None or isinstance(page.title, str)):
        raise _harness.FuzzCrash(f"title is not str or None: {page.title!r:.200}")


if __name__ == "__main__":
    _harness.fuzz(test_one_input)
