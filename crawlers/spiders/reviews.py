"""Reviews spider: pages with schema.org Review / AggregateRating markup, following their pagination.

The page's AggregateRating is kept in the crawl stats (`vocwatch/aggregate_rating`, `.../aggregate_count`)
so a run shows how many reviews the site claims against how many were marked up (often fewer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from scrapy import Request
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.items import MentionItem
from crawlers.parsing.dates import parse_timezone
from crawlers.parsing.reviews import read_reviews
from crawlers.runspec import RunSpec
from crawlers.spiders.base import MentionSpider

__all__ = ["ReviewsParams", "ReviewsSpider"]


class ReviewsParams(BaseModel):
    """Options of a reviews source; its product/review page URLs are RunSpec.urls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    next_page: str | None = None  # CSS selector of the next page's link where there is no rel=next
    follow_next: bool = True
    newest_first: bool = False  # pages list newest first: stop at the first stored review
    timezone: str = "UTC"  # zone of dates printed without one ("2022-10-30" is midnight there)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        parse_timezone(value)
        return value


class ReviewsSpider(MentionSpider):
    name = "reviews"
    kind = "reviews"
    params_model = ReviewsParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.urls:
            raise RunSpecError(f"source {self.spec.source_name!r} (reviews) has no page URLs: set `urls`")

    @property
    def reviews_params(self) -> ReviewsParams:
        assert isinstance(self.params, ReviewsParams)
        return self.params

    async def start(self) -> AsyncIterator[Any]:
        for url in self.spec.urls:
            request = self.start_page(url, callback=self.parse)
            if request is None:
                return
            yield request

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionItem | Request]:
        params = self.reviews_params
        try:
            page = read_reviews(
                response,
                source=self.spec.source_name,
                next_selector=params.next_page,
                page_url=self.chain_of(response),
                tz=params.timezone,
                now=self.started_at,
            )
        except Exception as exc:  # extruct/lxml on a broken page: count it, crawl the other pages
            self.page_failed(response, exc)
            return
        stats = self.crawler.stats
        assert stats is not None
        if page.aggregate is not None and self.chain_of(response) == response.url:
            stats.set_value("vocwatch/aggregate_rating", page.aggregate.rating)
            stats.set_value("vocwatch/aggregate_count", page.aggregate.count)
        yield from self.until_seen(response, page.items, ordered=params.newest_first)
        if page.next_url and params.follow_next:
            request = self.next_page(response, page.next_url, callback=self.parse)
            if request is not None:
                yield request
