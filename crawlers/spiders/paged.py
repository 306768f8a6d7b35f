"""PagedSpider: the walk shared by kinds that read plain pages from `urls` (reviews, profile).

Each page is read by the kind's pure parser; this base counts a broken page and goes on, stops at items
already stored (when the site lists newest first), and follows the parser's next-page link.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict
from scrapy import Request
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.items import MentionItem
from crawlers.runspec import RunSpec
from crawlers.spiders.base import MentionSpider

__all__ = ["Page", "PagedSpider", "PagingParams"]


class PagingParams(BaseModel):
    """How to walk a kind's pages; the kind's params model adds what its parser needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    follow_next: bool = True
    newest_first: bool = False  # pages list newest first: stop at the first stored item


class Page(Protocol):
    """What a kind's page parser returns: the page's items and the next page's URL, if any."""

    @property
    def items(self) -> Sequence[MentionItem]: ...

    @property
    def next_url(self) -> str | None: ...


class PagedSpider(MentionSpider):
    """Subclasses set `kind`, `params_model` (a PagingParams) and implement `read_page`."""

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.urls:
            raise RunSpecError(f"source {self.spec.source_name!r} ({self.kind}) has no page URLs: set `urls`")

    @property
    def paging(self) -> PagingParams:
        assert isinstance(self.params, PagingParams)
        return self.params

    def read_page(self, response: Response) -> Page:
        """Parse one page with the kind's pure parser (raise on a page that cannot be read)."""
        raise NotImplementedError

    def page_read(self, response: Response, page: Page) -> None:
        """Hook for what a kind records about a page beyond its items (default: nothing)."""

    async def start(self) -> AsyncIterator[Any]:
        for url in self.spec.urls:
            request = self.start_page(url, callback=self.parse)
            if request is None:
                return
            yield request

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionItem | Request]:
        try:
            page = self.read_page(response)
        except Exception as exc:  # an undecodable or broken page: count it, crawl the other pages
            self.page_failed(response, exc)
            return
        self.page_read(response, page)
        yield from self.until_seen(response, page.items, ordered=self.paging.newest_first)
        if page.next_url and self.paging.follow_next:
            request = self.next_page(response, page.next_url, callback=self.parse)
            if request is not None:
                yield request
