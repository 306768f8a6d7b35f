"""Hacker News spider: Algolia `search_by_date` over stories and comments, newest first.

No credentials. Pages go by `page`/`nbPages`; a second run asks only for items at or after the newest
`created_at_i` it stored (`numericFilters`), so it reads one small page instead of re-walking the search.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.parsing.hackernews import read_hackernews
from crawlers.parsing.jsonapi import ApiPage
from crawlers.runspec import RunSpec
from crawlers.spiders.api import ApiSpider

__all__ = ["HackernewsParams", "HackernewsSpider"]


class HackernewsParams(BaseModel):
    """Options of a hackernews source; `RunSpec.query` is the search."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: str = "https://hn.algolia.com/api/v1"
    tags: tuple[str, ...] = ("story", "comment")  # Algolia tags, OR-ed
    hits_per_page: int = Field(default=50, ge=1, le=1000)


class HackernewsSpider(ApiSpider):
    name = "hackernews"
    kind = "hackernews"
    params_model = HackernewsParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.query:
            raise RunSpecError(f"source {self.spec.source_name!r} (hackernews) needs a query")

    @property
    def hn_params(self) -> HackernewsParams:
        assert isinstance(self.params, HackernewsParams)
        return self.params

    def first_pages(self) -> Iterable[tuple[str, str]]:
        params, query = self.hn_params, self.spec.query or ""
        listing = f"search:{query}"
        values = {"query": query, "hitsPerPage": str(params.hits_per_page), "page": "0"}
        if params.tags:
            values["tags"] = "(" + ",".join(params.tags) + ")"
        if since := self.stored_newest(listing):
            values["numericFilters"] = f"created_at_i>={since}"  # >=: an item of the same second is kept
        yield listing, f"{params.api_url.rstrip('/')}/search_by_date?{urlencode(values)}"

    def read_page(self, response: Response) -> ApiPage:
        return read_hackernews(response, source=self.spec.source_name)
