"""Mastodon spider: hashtag timelines and status search on one configured instance.

A token (`credentials.access_token`) is optional: public hashtag timelines need none, while full-text status
search answers only logged-in users on most instances. Each listing's newest status id is kept in the
cursor and sent as `since_id` next time, so a second run fetches only statuses posted since.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.parsing.jsonapi import ApiPage
from crawlers.parsing.mastodon import read_mastodon
from crawlers.runspec import RunSpec
from crawlers.spiders.api import ApiSpider

__all__ = ["MastodonParams", "MastodonSpider"]


class MastodonParams(BaseModel):
    """Options of a mastodon source: the instance, hashtags to follow; `RunSpec.query` searches statuses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_url: str = "https://mastodon.social"
    tags: tuple[str, ...] = ()  # without the leading '#'
    limit: int = Field(default=40, ge=1, le=40)  # statuses per page (the API's maximum is 40)


class MastodonSpider(ApiSpider):
    name = "mastodon"
    kind = "mastodon"
    params_model = MastodonParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.query and not self.mastodon_params.tags:
            raise RunSpecError(f"source {self.spec.source_name!r} (mastodon) needs a query or tags")
        self.token = self.spec.credentials.get("access_token") or None

    @property
    def mastodon_params(self) -> MastodonParams:
        assert isinstance(self.params, MastodonParams)
        return self.params

    def first_pages(self) -> Iterable[tuple[str, str]]:
        params = self.mastodon_params
        for tag in params.tags:
            tag = tag.removeprefix("#")
            yield f"tag:{tag}", self._url(f"tag:{tag}", f"/api/v1/timelines/tag/{quote(tag)}")
        if query := self.spec.query:
            listing = f"search:{query}"
            yield listing, self._url(listing, "/api/v2/search", q=query, type="statuses")

    def read_page(self, response: Response) -> ApiPage:
        return read_mastodon(response, source=self.spec.source_name)

    def _url(self, listing: str, path: str, **query: str) -> str:
        values = {**query, "limit": str(self.mastodon_params.limit)}
        if since := self.stored_newest(listing):
            values["since_id"] = since
        return f"{self.mastodon_params.instance_url.rstrip('/')}{path}?{urlencode(values)}"
