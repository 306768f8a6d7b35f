"""Shared crawl frontier for several crawl workers: scrapy-redis, plugged in through settings only.

With a Redis URL in the RunSpec, every worker process crawling the same source *round* (the RunSpec's
`redis_key`, chosen by `vocwatch`) uses one Redis request queue and one request-fingerprint set:

- the start URLs each worker yields are enqueued once (the first worker to see one wins), and every next
  page found by any worker goes into the same queue, so the workers split a source's pages;
- a page is fetched once per round however many workers run (the shared dupefilter); items are stored
  once whoever parses them (the database's unique (source, external_id), see `storage.mentions`).

The frontier outlives each worker (`SCHEDULER_PERSIST`): a worker that finishes must not wipe the queue
that others still read. `vocwatch` expires a round's keys instead. Without a Redis URL none of this is
installed and a crawl runs exactly as a single process.

Redis keeps the frontier in memory only. If it goes away mid-crawl, or comes back empty after a restart,
the worker's run ends as failed (`crawlers.frontier.FrontierScheduler`), and the next round starts from the
start URLs with an empty queue and dupefilter: pages the old round fetched are fetched again, and the
database's unique key makes their items duplicates.
"""

from __future__ import annotations

import time
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured

__all__ = [
    "FRONTIER_ERROR_STAT",
    "FRONTIER_LOST_REASON",
    "FRONTIER_SUFFIXES",
    "SHARED_FRONTIER_STAT",
    "SharedFrontierWait",
    "shared_frontier_settings",
]

# The Redis keys of one round are `<redis_key>:<suffix>`.
FRONTIER_SUFFIXES = ("requests", "dupefilter")
# Crawler stat set by SharedFrontierWait: tells the ledger this crawl was one worker of a shared round.
SHARED_FRONTIER_STAT = "vocwatch/shared_frontier"
# Close reason and crawler stat (the Redis error) of a crawl whose Redis went away (crawlers.frontier).
FRONTIER_LOST_REASON = "shared_frontier_lost"
FRONTIER_ERROR_STAT = "vocwatch/frontier_error"


def shared_frontier_settings(
    *, redis_url: str, redis_key: str, idle_s: float, concurrency: int
) -> dict[str, Any]:
    """Scrapy settings that put the crawl's scheduler and dupefilter in Redis under `redis_key`.

    `concurrency` caps the requests a worker takes from the shared queue at a time: Scrapy otherwise pulls
    up to CONCURRENT_REQUESTS (16) into its own downloader slots, and one worker would hoard a source's
    pages while the others sit idle. It should be the per-domain concurrency the worker may use anyway.
    """
    key = redis_key.replace("%", "%%")  # scrapy-redis formats keys with `% {"spider": name}`
    return {
        "SCHEDULER": "crawlers.frontier.FrontierScheduler",  # scrapy-redis's, failing clearly without Redis
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": f"{key}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{key}:dupefilter",
        "REDIS_URL": redis_url,
        "CONCURRENT_REQUESTS": concurrency,
        "VOCWATCH_SHARED_FRONTIER": True,
        "VOCWATCH_FRONTIER_IDLE_S": idle_s,
    }


class SharedFrontierWait:
    """Keeps an idle worker open for `idle_s` after its last activity.

    A worker whose own requests are done may see an empty shared queue while another worker is still
    parsing a page that will enqueue more; closing at once would leave all of the rest to that worker.
    Scrapy re-checks an idle spider every few seconds, and each check pulls from the shared queue.
    """

    def __init__(self, idle_s: float) -> None:
        self._idle_s = idle_s
        self._last_activity = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("VOCWATCH_SHARED_FRONTIER"):
            raise NotConfigured("no shared frontier")
        assert crawler.stats is not None
        crawler.stats.set_value(SHARED_FRONTIER_STAT, 1)
        extension = cls(crawler.settings.getfloat("VOCWATCH_FRONTIER_IDLE_S"))
        crawler.signals.connect(extension.activity, signal=signals.response_received)
        crawler.signals.connect(extension.activity, signal=signals.request_scheduled)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        return extension

    def activity(self, *args: Any, **kwargs: Any) -> None:
        self._last_activity = time.monotonic()

    def spider_idle(self, spider: Spider) -> None:
        if time.monotonic() - self._last_activity < self._idle_s:
            raise DontCloseSpider
