"""The shared-frontier wiring: settings a RunSpec with Redis turns into, and how a worker's run is judged."""

from __future__ import annotations

import json

import pytest

from crawlers.errors import RunSpecError
from crawlers.launch import crawl_settings
from crawlers.outcome import CrawlStatus, StopReason, decide_outcome
from crawlers.runspec import RunSpec

BASE = {
    "source_name": "forum",
    "kind": "rss",
    "urls": ["https://example.com/feed"],
    "database_url": "sqlite://",
}


def test_a_runspec_with_redis_gets_the_scrapy_redis_scheduler_with_round_keys() -> None:
    spec = RunSpec.model_validate(
        {
            **BASE,
            "redis_url": "redis://r:6379/0",
            "redis_key": "vocwatch:crawl:forum:ab%",
            "concurrency_per_domain": 3,
        }
    )
    settings = crawl_settings(spec)
    assert settings["SCHEDULER"] == "crawlers.frontier.FrontierScheduler"  # scrapy-redis, failing clearly
    assert settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert settings.getbool("SCHEDULER_PERSIST")  # other workers still read the frontier
    # scrapy-redis formats keys with `% {"spider": name}`: a literal % must survive it
    assert settings["SCHEDULER_QUEUE_KEY"] % {"spider": "rss"} == "vocwatch:crawl:forum:ab%:requests"
    assert settings["SCHEDULER_DUPEFILTER_KEY"] % {"spider": "rss"} == "vocwatch:crawl:forum:ab%:dupefilter"
    assert settings.getint("CONCURRENT_REQUESTS") == 3  # take from the shared queue only what it can fetch
    assert "redis://r:6379/0" not in repr(spec)  # a Redis password stays out of logs


def test_a_runspec_without_redis_crawls_exactly_as_before() -> None:
    settings = crawl_settings(RunSpec.model_validate(BASE))
    assert "scrapy_redis" not in str(settings["SCHEDULER"])
    assert not settings.getbool("VOCWATCH_SHARED_FRONTIER")
    assert settings.getint("CONCURRENT_REQUESTS") == 16


def test_redis_url_without_a_round_key_is_refused() -> None:
    with pytest.raises(RunSpecError, match="redis_url and redis_key"):
        RunSpec.from_json(json.dumps({**BASE, "redis_url": "redis://r:6379/0"}))


def test_a_shared_worker_that_got_no_page_is_ok_but_a_failing_one_is_not() -> None:
    common = {
        "close_reason": "finished",
        "spider_reason": None,
        "pages": 0,
        "pages_failed": 0,
        "pages_not_modified": 0,
    }
    idle = decide_outcome(**common, status_counts={}, exception_counts={}, shared_frontier=True)
    assert (idle.status, idle.stop_reason) == (CrawlStatus.OK, StopReason.SHARED)
    refused = decide_outcome(
        **common, status_counts={}, exception_counts={"ConnectionRefusedError": 3}, shared_frontier=True
    )
    assert refused.status == CrawlStatus.FAILED
    alone = decide_outcome(**common, status_counts={}, exception_counts={})
    assert alone.stop_reason == StopReason.UNREACHABLE
