"""App Store spider: the customer-reviews feed of one app in one or more countries, most recent first.

Every page up to the feed's own cap (10) is read until the chain is caught up; when the cap hides older
reviews the run's stop reason is `cap_reached`, so the ledger shows that coverage was cut by Apple, not
by us. No credentials: the feed is public (App Store Connect's API would need a key; not covered here).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from crawlers.parsing.appstore import feed_url, read_appstore
from crawlers.parsing.jsonapi import ApiPage
from crawlers.spiders.api import ApiSpider

__all__ = ["AppstoreParams", "AppstoreSpider"]


class AppstoreParams(BaseModel):
    """Options of an appstore source: the app's numeric id and the storefront countries to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: str = Field(pattern=r"^\d+$")
    countries: tuple[str, ...] = Field(default=("us",), min_length=1)  # ISO 3166 alpha-2, lower case
    base_url: str = "https://itunes.apple.com"


class AppstoreSpider(ApiSpider):
    name = "appstore"
    kind = "appstore"
    params_model = AppstoreParams

    @property
    def appstore_params(self) -> AppstoreParams:
        assert isinstance(self.params, AppstoreParams)
        return self.params

    def first_pages(self) -> Iterable[tuple[str, str]]:
        params = self.appstore_params
        for country in params.countries:
            yield (
                f"{country}:{params.app_id}",
                feed_url(params.base_url, country=country.lower(), app_id=params.app_id),
            )

    def read_page(self, response: Response) -> ApiPage:
        return read_appstore(response, source=self.spec.source_name)
