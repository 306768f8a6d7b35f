"""RSS/Atom spider: news and blog mentions of the brand.

Feeds are fetched with a conditional GET (ETag / Last-Modified from the stored cursor), so an unchanged feed
costs the publisher a 304 and us nothing. Paged feeds (RFC 5005 `<link rel="next">`) are followed until the
chain is caught up, reaches the lookback, or the page budget runs out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict
from scrapy import Request
from scrapy.http import Response

from crawlers.errors import FeedError, RunSpecError
from crawlers.items import MentionItem
from crawlers.parsing.rss import read_feed
from crawlers.runspec import RunSpec
from crawlers.spiders.base import MentionSpider

__all__ = ["RssParams", "RssSpider"]

_START_PAGE = "vocwatch_rss_start_page"  # request.meta flag: this is a configured feed URL, not a next page


class RssParams(BaseModel):
    """Options of an rss source (RunSpec.params); the feed URLs are RunSpec.urls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conditional_get: bool = True  # send If-None-Match / If-Modified-Since from the stored cursor
    follow_next: bool = True  # follow RFC 5005 `<link rel="next">` pages


class RssSpider(MentionSpider):
    name = "rss"
    kind = "rss"
    params_model = RssParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.urls:
            raise RunSpecError(f"source {self.spec.source_name!r} (rss) has no feed URLs: set `urls`")
        self._validators: dict[str, dict[str, str]] = {}

    @property
    def rss_params(self) -> RssParams:
        assert isinstance(self.params, RssParams)
        return self.params

    async def start(self) -> AsyncIterator[Any]:
        for url in self.spec.urls:
            request = self.start_page(
                url,
                callback=self.parse,
                headers=self._conditional_headers(url),
                meta={"handle_httpstatus_list": [304], _START_PAGE: True},
            )
            if request is None:
                return
            yield request

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionItem | Request]:
        stats = self.crawler.stats
        assert stats is not None
        if response.status == 304:
            stats.inc_value("vocwatch/pages_not_modified")
            return
        try:
            page = read_feed(response, source=self.spec.source_name)
        except FeedError as exc:
            self.page_failed(response, exc)
            return
        self._remember_validators(response)  # after parsing: a page we could not read is fetched again
        yield from self.until_seen(response, page.items)
        if page.next_url and self.rss_params.follow_next:
            request = self.next_page(response, page.next_url, callback=self.parse)
            if request is not None:
                yield request

    def next_cursor(self) -> dict[str, Any] | None:
        """{"validators": {feed URL: {"etag": ..., "last_modified": ...}}} for the configured feeds."""
        stored = self.state.cursor.get("validators")
        merged = {url: dict(v) for url, v in (stored or {}).items() if url in self.spec.urls}
        merged.update(self._validators)
        return {"validators": merged}

    def _conditional_headers(self, url: str) -> dict[str, str]:
        if not self.rss_params.conditional_get:
            return {}
        validators = (self.state.cursor.get("validators") or {}).get(url) or {}
        headers = {}
        if etag := validators.get("etag"):
            headers["If-None-Match"] = etag
        if last_modified := validators.get("last_modified"):
            headers["If-Modified-Since"] = last_modified
        return headers

    def _remember_validators(self, response: Response) -> None:
        """Only a start URL's own validators are kept: next pages are not re-requested conditionally."""
        if not response.meta.get(_START_PAGE):
            return
        validators = {}
        if etag := response.headers.get("ETag"):
            validators["etag"] = etag.decode("latin-1")
        if last_modified := response.headers.get("Last-Modified"):
            validators["last_modified"] = last_modified.decode("latin-1")
        self._validators[self.chain_of(response)] = validators
