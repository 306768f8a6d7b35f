"""MentionSpider's incremental stop, lookback and page budget, and the RSS spider's requests and cursor.

Spiders are built on an unconfigured Crawler (no engine, no network): these are the decisions a spider
makes on responses it is handed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.errors import RunSpecError
from crawlers.items import MentionItem
from crawlers.outcome import StopReason
from crawlers.registry import SOURCE_KINDS, get_kind
from crawlers.runspec import RunSpec
from crawlers.spiders.base import CHAIN_META_KEY, SourceState
from crawlers.spiders.rss import RssSpider

FEED = "https://news.example/feed.xml"


def make_spider(**spec: Any) -> RssSpider:
    values: dict[str, Any] = {
        "source_name": "news",
        "kind": "rss",
        "database_url": "sqlite://",
        "urls": [FEED],
        "lookback_days": None,
    }
    crawler = get_crawler(RssSpider)
    spider = RssSpider.from_crawler(crawler, spec=RunSpec.model_validate(values | spec))
    return spider


def response_for(url: str = FEED, *, chain: str = FEED) -> Response:
    return Response(url, request=Request(url, meta={CHAIN_META_KEY: chain}))


def mention(external_id: str, *, days_old: float = 0) -> MentionItem:
    published = datetime.now(UTC) - timedelta(days=days_old)
    return MentionItem(source="news", external_id=external_id, url="", text="t", published_at=published)


def stored(*ids: str) -> SourceState:
    def known(external_ids: Collection[str]) -> set[str]:
        return set(external_ids) & set(ids)

    return SourceState(known_ids=known)


def stat(spider: RssSpider, key: str) -> Any:
    assert spider.crawler.stats is not None
    return spider.crawler.stats.get_value(key, 0)


def test_stored_items_are_dropped_and_the_chain_stops_caught_up() -> None:
    spider = make_spider()
    spider.attach_state(stored("2", "1"))
    fresh = spider.until_seen(response_for(), [mention("3"), mention("2"), mention("1")])
    assert [m.external_id for m in fresh] == ["3"]
    assert (stat(spider, "vocwatch/items_seen"), stat(spider, "vocwatch/items_known")) == (3, 2)
    assert spider.next_page(response_for(), "?page=2") is None
    assert spider.final_stop_reason() is StopReason.CAUGHT_UP


def test_unordered_pages_keep_going_after_a_stored_item() -> None:
    spider = make_spider()
    spider.attach_state(stored("1"))
    spider.until_seen(response_for(), [mention("1"), mention("2")], ordered=False)
    assert spider.next_page(response_for(), "?page=2") is not None


def test_an_id_repeated_in_the_same_run_is_counted_but_does_not_stop_the_chain() -> None:
    spider = make_spider()
    assert len(spider.until_seen(response_for(), [mention("1"), mention("2")])) == 2
    assert [m.external_id for m in spider.until_seen(response_for(), [mention("2"), mention("3")])] == ["3"]
    assert stat(spider, "vocwatch/items_known") == 1
    assert spider.next_page(response_for(), "?page=2") is not None


def test_items_older_than_the_lookback_are_skipped_and_stop_the_chain() -> None:
    spider = make_spider(lookback_days=7)
    fresh = spider.until_seen(response_for(), [mention("new", days_old=1), mention("old", days_old=8)])
    assert [m.external_id for m in fresh] == ["new"]
    assert stat(spider, "vocwatch/items_too_old") == 1
    assert spider.final_stop_reason() is StopReason.LOOKBACK_REACHED


def test_items_without_a_date_or_an_id_pass_to_the_validator() -> None:
    spider = make_spider(lookback_days=1)
    undated = MentionItem(source="news", external_id="x", url="", text="t")
    anonymous = MentionItem(source="news", external_id="", url="", text="t")
    assert spider.until_seen(response_for(), [undated, anonymous]) == [undated, anonymous]


def test_the_page_budget_caps_start_and_next_pages() -> None:
    spider = make_spider(max_pages=2)
    assert spider.start_page(FEED) is not None
    assert spider.next_page(response_for(), "?page=2") is not None
    assert spider.next_page(response_for(), "?page=3") is None
    assert spider.final_stop_reason() is StopReason.CAP_REACHED


def test_one_chain_caught_up_does_not_stop_another() -> None:
    other = "https://news.example/other.xml"
    spider = make_spider(urls=[FEED, other])
    spider.attach_state(stored("1"))
    spider.until_seen(response_for(), [mention("1")])
    assert spider.next_page(response_for(other, chain=other), "?page=2") is not None


def test_a_cap_anywhere_is_the_runs_reason() -> None:
    spider = make_spider(max_pages=1, urls=[FEED, "https://news.example/b.xml"])
    spider.attach_state(stored("1"))
    spider.start_page(FEED)
    spider.until_seen(response_for(), [mention("1")])
    spider.start_page("https://news.example/b.xml")
    assert spider.final_stop_reason() is StopReason.CAP_REACHED


def test_start_requests_are_conditional_when_the_cursor_has_validators() -> None:
    spider = make_spider()
    spider.attach_state(SourceState(cursor={"validators": {FEED: {"etag": '"abc"', "last_modified": "x"}}}))

    async def collect() -> list[Request]:
        return [request async for request in spider.start()]

    requests = asyncio.run(collect())
    assert [r.url for r in requests] == [FEED]
    assert requests[0].headers["If-None-Match"] == b'"abc"'
    assert requests[0].headers["If-Modified-Since"] == b"x"
    assert 304 in requests[0].meta["handle_httpstatus_list"]


def test_next_cursor_keeps_validators_of_configured_feeds_only() -> None:
    spider = make_spider()
    spider.attach_state(
        SourceState(cursor={"validators": {FEED: {"etag": "1"}, "https://gone.example/": {}}})
    )
    assert spider.next_cursor() == {"validators": {FEED: {"etag": "1"}}}


def test_rss_sources_need_urls() -> None:
    with pytest.raises(RunSpecError, match="has no feed URLs"):
        make_spider(urls=[])


def test_unknown_params_are_refused() -> None:
    with pytest.raises(RunSpecError, match=r"params\.follow_nxt: Extra inputs are not permitted"):
        make_spider(params={"follow_nxt": False})


def test_registry_maps_kinds_to_spiders() -> None:
    assert get_kind("rss").spider is RssSpider
    assert {"rss", "reddit", "mastodon", "bluesky", "hackernews", "appstore"} <= set(SOURCE_KINDS)
    with pytest.raises(LookupError, match=r"unknown source kind 'gopher' \(known: [a-z, ]*\brss\b"):
        get_kind("gopher")
