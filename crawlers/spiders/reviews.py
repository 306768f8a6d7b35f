"""Reviews spider: pages with schema.org Review / AggregateRating markup, following their pagination.

The page's AggregateRating is kept in the crawl stats (`vocwatch/aggregate_rating`, `.../aggregate_count`)
so a run shows how many reviews the site claims against how many were marked up (often fewer).
"""

from __future__ import annotations

from pydantic import ConfigDict, field_validator
from scrapy.http import Response

from crawlers.parsing.dates import parse_timezone
from crawlers.parsing.reviews import ReviewPage, read_reviews
from crawlers.spiders.paged import Page, PagedSpider, PagingParams

__all__ = ["ReviewsParams", "ReviewsSpider"]


class ReviewsParams(PagingParams):
    """Options of a reviews source; its product/review page URLs are RunSpec.urls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    next_page: str | None = None  # CSS selector of the next page's link where there is no rel=next
    timezone: str = "UTC"  # zone of dates printed without one ("2022-10-30" is midnight there)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        parse_timezone(value)
        return value


class ReviewsSpider(PagedSpider):
    name = "reviews"
    kind = "reviews"
    params_model = ReviewsParams

    def read_page(self, response: Response) -> ReviewPage:
        assert isinstance(self.params, ReviewsParams)
        return read_reviews(
            response,
            source=self.spec.source_name,
            next_selector=self.params.next_page,
            page_url=self.chain_of(response),
            tz=self.params.timezone,
            now=self.started_at,
        )

    def page_read(self, response: Response, page: Page) -> None:
        """Keep the first page's AggregateRating: how many reviews the site claims vs. how many we read."""
        stats = self.crawler.stats
        assert stats is not None and isinstance(page, ReviewPage)
        if page.aggregate is not None and self.chain_of(response) == response.url:
            stats.set_value("vocwatch/aggregate_rating", page.aggregate.rating)
            stats.set_value("vocwatch/aggregate_count", page.aggregate.count)
