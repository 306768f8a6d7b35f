"""FrontierScheduler: scrapy-redis's scheduler, ending the crawl as failed when its Redis frontier is lost.

Loaded by class path only when the RunSpec names a Redis URL (crawlers.scaleout), so installations without
the `redis` extra never import it.

Plain scrapy-redis meets a Redis that goes away mid-crawl badly (measured with scrapy-redis 0.9.1 and
Scrapy 2.19, tests/reliability/test_service_faults.py):

- Redis down: every scheduler call raises ConnectionError inside Scrapy's engine loop, which logs it every
  5 s and never closes the spider: the crawl hangs until `crawl.timeout_s` kills it, its run left `running`.
- Redis back, but EMPTY (restarted without persistence): the pages that were queued are gone; the crawl
  finds an empty queue, finishes as `ok` and advances the cursor, and the next run stops "caught up" at
  the first page: the lost pages are never read.

Here any Redis error, or a Redis that is not the server the crawl opened on (its `run_id` changed, i.e.
it restarted), ends the crawl at once with close reason `shared_frontier_lost` and the cause in the
crawler stats (`vocwatch/frontier_error`). The ledger records the run as failed, so the next round, which
starts from the start URLs with an empty frontier, reads every page again; the database's unique
(source, external_id) makes the repeated items duplicates, not new rows.
"""

from __future__ import annotations

import logging
from typing import Any, Self

import redis
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.scheduler import Scheduler  # type: ignore[import-untyped]

from crawlers.scaleout import FRONTIER_ERROR_STAT, FRONTIER_LOST_REASON

__all__ = ["FrontierScheduler"]

logger = logging.getLogger(__name__)


class FrontierScheduler(Scheduler):  # type: ignore[misc]
    """The shared queue and dupefilter in Redis; a lost Redis closes the spider instead of hanging it."""

    crawler: Crawler | None = None
    _run_id: str | None = None
    lost: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        scheduler: Self = super().from_crawler(crawler)
        scheduler.crawler = crawler
        return scheduler

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self._run_id = self._server_run_id()

    def enqueue_request(self, request: Request) -> bool:
        if self.lost is not None:
            return False
        try:
            return bool(super().enqueue_request(request))
        except redis.RedisError as exc:
            self._lose(exc)
            return False

    def next_request(self) -> Request | None:
        if self.lost is not None:
            return None
        try:
            request: Request | None = super().next_request()
        except redis.RedisError as exc:
            self._lose(exc)
            return None
        return request

    def has_pending_requests(self) -> bool:
        """Also where an empty queue is told apart from a queue that vanished with a restarted Redis."""
        if self.lost is not None:
            return False
        try:
            if super().has_pending_requests():
                return True
            if self._run_id and self._server_run_id() != self._run_id:
                self._lose(None)
        except redis.RedisError as exc:
            self._lose(exc)
        return False

    def _server_run_id(self) -> str:
        """Redis's id of this server process (new after every restart); "" where INFO is disabled."""
        try:
            info: dict[str, Any] = self.server.info("server")
        except redis.ResponseError:  # e.g. `rename-command INFO ""`: no restart detection, errors still
            return ""
        return str(info.get("run_id", ""))

    def _lose(self, error: redis.RedisError | None) -> None:
        cause = (
            f"{type(error).__name__}: {' '.join(str(error).split())}"
            if error is not None
            else "Redis restarted: the round's queue and fingerprints are gone"
        )
        self.lost = cause
        logger.error("shared crawl frontier lost (%s): this run ends as failed", cause)
        if self.stats is not None:
            self.stats.set_value(FRONTIER_ERROR_STAT, cause)
        if self.crawler is not None and self.crawler.engine is not None:
            closing = deferred_from_coro(self.crawler.engine.close_spider_async(reason=FRONTIER_LOST_REASON))
            closing.addErrback(lambda failure: logger.error("could not close the spider: %s", failure.value))
