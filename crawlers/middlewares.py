"""RetryAfterMiddleware: retries with backoff, and waits as long as a 429/503 `Retry-After` asks.

Scrapy's own RetryMiddleware re-queues a failed request at once, which hammers a server that just said
"slow down". This one waits before handing the retry back: the time the server asked for when it sent
`Retry-After` (seconds or an HTTP date), else an exponential backoff with jitter. The wait does not block
the crawl: other requests go on while this one sleeps. A `Retry-After` longer than the configured maximum is
not waited for: the response is given up (and counted), since a crawl that sleeps for an hour holds a
scheduler slot and tells nobody.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message

from crawlers import defaults

__all__ = ["RetryAfterMiddleware", "parse_retry_after"]

logger = logging.getLogger(__name__)

_RETRY_AFTER_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str, *, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date; None if unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are GMT by definition
    return max(0.0, (when - now).total_seconds())


class RetryAfterMiddleware:
    """Drop-in replacement for `scrapy.downloadermiddlewares.retry.RetryMiddleware` (same settings:
    RETRY_ENABLED, RETRY_TIMES, RETRY_HTTP_CODES, RETRY_EXCEPTIONS; `dont_retry`/`max_retry_times` meta)."""

    def __init__(
        self,
        crawler: Crawler,
        *,
        http_codes: frozenset[int],
        exceptions: tuple[type[BaseException], ...],
        backoff_base_s: float,
        backoff_max_s: float,
        retry_after_max_s: float,
    ) -> None:
        self._crawler = crawler
        self._http_codes = http_codes
        self._exceptions = exceptions
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._retry_after_max_s = retry_after_max_s

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        return cls(
            crawler,
            http_codes=frozenset(int(code) for code in settings.getlist("RETRY_HTTP_CODES")),
            exceptions=tuple(
                load_object(path) if isinstance(path, str) else path
                for path in settings.getlist("RETRY_EXCEPTIONS")
            ),
            backoff_base_s=settings.getfloat(
                "VOCWATCH_RETRY_BACKOFF_BASE_S", defaults.VOCWATCH_RETRY_BACKOFF_BASE_S
            ),
            backoff_max_s=settings.getfloat(
                "VOCWATCH_RETRY_BACKOFF_MAX_S", defaults.VOCWATCH_RETRY_BACKOFF_MAX_S
            ),
            retry_after_max_s=settings.getfloat(
                "VOCWATCH_RETRY_AFTER_MAX_S", defaults.VOCWATCH_RETRY_AFTER_MAX_S
            ),
        )

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self._http_codes:
            return response
        delay = self._backoff(request)
        if response.status in _RETRY_AFTER_STATUSES and (header := response.headers.get("Retry-After")):
            asked = parse_retry_after(header.decode("latin-1"), now=datetime.now(UTC))
            if asked is not None and asked > self._retry_after_max_s:
                self._stats_inc("vocwatch/retry_after_too_long")
                logger.warning(
                    "%s asks to retry after %.0f s (more than %.0f s): giving up on %s",
                    response.status,
                    asked,
                    self._retry_after_max_s,
                    request.url,
                )
                return response
            if asked is not None:
                delay = asked
        retry = self._retry_request(request, response_status_message(response.status))
        if retry is None:
            return response
        await sleep(delay)
        return retry

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if request.meta.get("dont_retry") or not isinstance(exception, self._exceptions):
            return None
        retry = self._retry_request(request, exception)
        if retry is not None:
            await sleep(self._backoff(request))
        return retry

    def _retry_request(self, request: Request, reason: str | Exception) -> Request | None:
        spider = self._crawler.spider
        assert spider is not None
        return get_retry_request(request, spider=spider, reason=reason)

    def _backoff(self, request: Request) -> float:
        """base × 2^attempt, capped, ±20 % jitter so that parallel retries do not arrive together."""
        attempt = int(request.meta.get("retry_times", 0))
        delay = min(self._backoff_max_s, self._backoff_base_s * 2.0**attempt)
        jitter = random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography
        return delay * jitter

    def _stats_inc(self, key: str) -> None:
        if self._crawler.stats is not None:
            self._crawler.stats.inc_value(key)
