"""The JSON API spiders' decisions, without a crawl: params, credentials, first URLs, cursors, refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.errors import RunSpecError
from crawlers.outcome import CrawlStatus, StopReason, decide_outcome
from crawlers.registry import get_kind
from crawlers.runspec import RunSpec
from crawlers.spiders.api import ApiSpider
from crawlers.spiders.base import SourceState
from crawlers.spiders.reddit import RedditSpider
from vocwatch.daemon.crawl import make_runspec
from vocwatch.settings import SourceSettings, load_settings


def make_spider(kind: str, **spec: Any) -> ApiSpider:
    values: dict[str, Any] = {
        "source_name": "s",
        "kind": kind,
        "database_url": "sqlite://",
        "lookback_days": None,
    }
    spider_class = get_kind(kind).spider
    spider = spider_class.from_crawler(get_crawler(spider_class), spec=RunSpec.model_validate(values | spec))
    assert isinstance(spider, ApiSpider)
    return spider


async def _collect(spider: ApiSpider) -> list[Request]:
    return [request async for request in spider.start()]


def start_requests(spider: ApiSpider) -> list[Request]:
    return asyncio.run(_collect(spider))


def test_credentials_are_not_in_the_runspec_repr() -> None:
    spec = RunSpec(source_name="s", kind="reddit", database_url="x", credentials={"client_secret": "hush"})
    assert "hush" not in repr(spec) and "hush" not in str(spec)
    assert RunSpec.model_validate_json(spec.model_dump_json()).credentials == {"client_secret": "hush"}


def test_half_a_credential_pair_is_a_config_error() -> None:
    with pytest.raises(RunSpecError, match=r"credentials\.client_secret is missing"):
        make_spider("reddit", query="acme", credentials={"client_id": "id"})


def test_reddit_without_credentials_reads_public_json() -> None:
    requests = start_requests(make_spider("reddit", params={"subreddits": ["acme", "acmehelp"]}))
    assert [r.url for r in requests] == [
        "https://www.reddit.com/r/acme/new.json?limit=100&raw_json=1",
        "https://www.reddit.com/r/acmehelp/new.json?limit=100&raw_json=1",
    ]
    assert all("Authorization" not in r.headers for r in requests)


def test_reddit_with_credentials_logs_in_first() -> None:
    spider = make_spider("reddit", query="acme", credentials={"client_id": "i", "client_secret": "x"})
    [login] = start_requests(spider)
    assert (login.method, login.url, login.body) == (
        "POST",
        "https://www.reddit.com/api/v1/access_token",
        b"grant_type=client_credentials",
    )
    assert isinstance(spider, RedditSpider) and spider.api_url == "https://oauth.reddit.com"


def test_refused_login_stops_the_run_as_auth_failed() -> None:
    spider = make_spider("bluesky", query="acme", credentials={"handle": "h", "app_password": "p"})
    [login] = start_requests(spider)
    refused = Response(login.url, status=401, request=login)
    assert list(login.callback(refused)) == []  # type: ignore[misc]
    assert spider.final_stop_reason() is StopReason.AUTH_FAILED


def test_a_kind_without_its_query_or_listing_is_refused() -> None:
    with pytest.raises(RunSpecError, match="needs a query"):
        make_spider("hackernews")
    with pytest.raises(RunSpecError, match="needs a query or tags"):
        make_spider("mastodon")
    with pytest.raises(RunSpecError, match=r"params\.app_id"):
        make_spider("appstore", params={"countries": ["us"]})


def test_stored_marker_starts_the_next_run_after_it() -> None:
    spider = make_spider("mastodon", params={"tags": ["acme"], "instance_url": "https://m.example"})
    spider.attach_state(SourceState(cursor={"newest": {"tag:acme": "42", "tag:gone": "7"}}))
    [request] = start_requests(spider)
    assert parse_qs(urlsplit(request.url).query) == {"limit": ["40"], "since_id": ["42"]}
    assert spider.next_cursor() == {"newest": {"tag:acme": "42"}}  # listings no longer configured are dropped


def test_appstore_reads_one_feed_per_country() -> None:
    spider = make_spider("appstore", params={"app_id": "123", "countries": ["us", "jp"]})
    assert [r.url for r in start_requests(spider)] == [
        "https://itunes.apple.com/us/rss/customerreviews/page=1/id=123/sortby=mostrecent/json",
        "https://itunes.apple.com/jp/rss/customerreviews/page=1/id=123/sortby=mostrecent/json",
    ]


def test_auth_failed_reported_by_the_spider_fails_the_run_even_after_a_page() -> None:
    outcome = decide_outcome(
        close_reason="finished",
        spider_reason=StopReason.AUTH_FAILED,
        pages=1,
        pages_failed=0,
        pages_not_modified=0,
        status_counts={"200": 1, "403": 1},
        exception_counts={},
    )
    assert (outcome.status, outcome.stop_reason, outcome.error) == (
        CrawlStatus.FAILED,
        StopReason.AUTH_FAILED,
        "credentials refused: HTTP 403×1",
    )


def test_make_runspec_hands_the_sources_secrets_to_the_crawl(tmp_path: Path) -> None:
    source = SourceSettings(
        kind="bluesky", query="acme", credentials={"handle": "h.example", "app_password": SecretStr("p-1")}
    )
    settings = load_settings(None, data_dir=tmp_path, sources={"acme_bsky": source})
    spec = make_runspec(settings, "acme_bsky", settings.sources["acme_bsky"])
    assert spec.credentials == {"handle": "h.example", "app_password": "p-1"}
    assert "p-1" not in repr(spec)


def test_a_source_may_look_further_back_than_the_crawl_default(tmp_path: Path) -> None:
    sources = {
        "reviews_site": SourceSettings(kind="rss", urls=["https://r.example/feed"], lookback_days=365),
        "news": SourceSettings(kind="rss", urls=["https://n.example/feed"]),
    }
    settings = load_settings(None, data_dir=tmp_path, sources=sources, crawl={"lookback_days": 30})

    specs = {name: make_runspec(settings, name, source) for name, source in settings.sources.items()}

    assert (specs["reviews_site"].lookback_days, specs["news"].lookback_days) == (365, 30)


def test_search_kinds_ask_their_apis_newest_first() -> None:
    [masto] = start_requests(
        make_spider("mastodon", query="acme", params={"instance_url": "https://m.example"})
    )
    assert masto.url == "https://m.example/api/v2/search?q=acme&type=statuses&limit=40"
    [bsky] = start_requests(make_spider("bluesky", query="acme"))
    assert bsky.url == "https://bsky.social/xrpc/app.bsky.feed.searchPosts?q=acme&sort=latest&limit=100"
    [hn] = start_requests(make_spider("hackernews", query="acme"))
    assert hn.url == (
        "https://hn.algolia.com/api/v1/search_by_date?query=acme&hitsPerPage=50&page=0&tags=%28story%2Ccomment%29"
    )


def test_a_token_refused_mid_run_stops_as_auth_failed() -> None:
    spider = make_spider("mastodon", params={"tags": ["acme"]}, credentials={"access_token": "expired"})
    [request] = start_requests(spider)
    assert request.headers["Authorization"] == b"Bearer expired"
    assert list(spider.parse(Response(request.url, status=401, request=request))) == []
    assert spider.final_stop_reason() is StopReason.AUTH_FAILED
