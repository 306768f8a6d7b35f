"""ParentWatch: a crawl ends when the process that launched it is gone.

`vocwatch` runs every crawl as a child process (`python -m crawlers`). When the daemon dies without a
chance to stop its children (SIGKILL, the OOM killer, a container stop that timed out), nothing tells the
child: it would go on crawling unsupervised, past the daemon's crawl timeout, and the restarted daemon
would start a second crawl of the same source beside it. An orphan is re-parented (to init or a
subreaper), so its parent pid changes; every `VOCWATCH_PARENT_CHECK_S` seconds this extension compares
it with the one the crawl started under and, once it differs, closes the spider with reason
`parent_gone`. Batches already stored stay stored, the ledger records the run as failed (stop reason
`shutdown`) without advancing the cursor, and the next crawl fetches the rest.

A crawl started directly by init (pid 1, e.g. as a container's entry point) has no parent to lose and is
not watched.
"""

from __future__ import annotations

import logging
import os
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawlers import defaults
from crawlers.outcome import PARENT_GONE_REASON

__all__ = ["ParentWatch"]

logger = logging.getLogger(__name__)


class ParentWatch:
    """Closes the spider with reason `parent_gone` once this process's parent has changed."""

    def __init__(self, crawler: Crawler, *, interval_s: float, parent_pid: int) -> None:
        self._crawler = crawler
        self._interval_s = interval_s
        self._parent_pid = parent_pid
        self._task: AsyncioLoopingCall | LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        interval_s = crawler.settings.getfloat("VOCWATCH_PARENT_CHECK_S", defaults.VOCWATCH_PARENT_CHECK_S)
        parent_pid = os.getppid()
        if interval_s <= 0 or parent_pid == 1:
            raise NotConfigured("no parent to watch")
        watch = cls(crawler, interval_s=interval_s, parent_pid=parent_pid)
        crawler.signals.connect(watch.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(watch.spider_closed, signal=signals.spider_closed)
        return watch

    def spider_opened(self) -> None:
        self._task = create_looping_call(self._check)
        self._task.start(self._interval_s, now=False)

    def spider_closed(self) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        self._task = None

    def _check(self) -> None:
        if os.getppid() == self._parent_pid:
            return
        logger.error("the process that started this crawl (pid %d) is gone: stopping", self._parent_pid)
        self.spider_closed()  # one close is enough
        assert self._crawler.engine is not None
        closing = deferred_from_coro(self._crawler.engine.close_spider_async(reason=PARENT_GONE_REASON))
        closing.addErrback(lambda failure: logger.error("could not close the spider: %s", failure.value))
