"""Profile spider: a site without an API, read with the CSS/XPath rules of its source config.

Which page comes next and when to stop is all this spider decides; what an item is comes from
`crawlers.parsing.profile.ProfileRules` (the source's `params`), so a new forum or shop is a config
change, not code.
"""

from __future__ import annotations

from scrapy.http import Response

from crawlers.parsing.profile import ProfilePage, ProfileRules, read_profile
from crawlers.spiders.paged import PagedSpider, PagingParams

__all__ = ["ProfileParams", "ProfileSpider"]


class ProfileParams(ProfileRules, PagingParams):
    """The parsing rules plus how to walk the pages."""


class ProfileSpider(PagedSpider):
    name = "profile"
    kind = "profile"
    params_model = ProfileParams

    def read_page(self, response: Response) -> ProfilePage:
        assert isinstance(self.params, ProfileParams)
        return read_profile(
            response,
            source=self.spec.source_name,
            rules=self.params,
            page_url=self.chain_of(response),
            now=self.started_at,
        )
