"""Profile spider: a site without an API, read with the CSS/XPath rules of its source config.

Which page comes next and when to stop is all this spider decides; what an item is comes from
`crawlers.parsing.profile.ProfileRules` (the source's `params`), so a new forum or shop is a config
change, not code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.items import MentionItem
from crawlers.parsing.profile import ProfileRules, read_profile
from crawlers.runspec import RunSpec
from crawlers.spiders.base import MentionSpider

__all__ = ["ProfileParams", "ProfileSpider"]


class ProfileParams(ProfileRules):
    """The parsing rules plus how to walk the pages."""

    follow_next: bool = True
    newest_first: bool = False  # listings newest first: stop at the first stored item


class ProfileSpider(MentionSpider):
    name = "profile"
    kind = "profile"
    params_model = ProfileParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if not self.spec.urls:
            raise RunSpecError(f"source {self.spec.source_name!r} (profile) has no page URLs: set `urls`")

    @property
    def profile_params(self) -> ProfileParams:
        assert isinstance(self.params, ProfileParams)
        return self.params

    async def start(self) -> AsyncIterator[Any]:
        for url in self.spec.urls:
            request = self.start_page(url, callback=self.parse)
            if request is None:
                return
            yield request

    def parse(self, response: Response, **kwargs: Any) -> Iterator[MentionItem | Request]:
        params = self.profile_params
        try:
            page = read_profile(
                response,
                source=self.spec.source_name,
                rules=params,
                page_url=self.chain_of(response),
                now=self.started_at,
            )
        except Exception as exc:  # an undecodable or broken page: count it, crawl the other pages
            self.page_failed(response, exc)
            return
        yield from self.until_seen(response, page.items, ordered=params.newest_first)
        if page.next_url and params.follow_next:
            request = self.next_page(response, page.next_url, callback=self.parse)
            if request is not None:
                yield request
