"""Source kinds: kind name → spider class and params model.

One registry used by the crawl entry point (which spider runs a RunSpec), by config validation in
`vocwatch` (is this kind known, are its params valid, before anything is launched) and by the docs test
(every kind is documented). New kinds are added here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
from pydantic import BaseModel

from crawlers.errors import UnknownKindError
from crawlers.spiders.appstore import AppstoreSpider
from crawlers.spiders.base import MentionSpider
from crawlers.spiders.bluesky import BlueskySpider
from crawlers.spiders.hackernews import HackernewsSpider
from crawlers.spiders.mastodon import MastodonSpider
from crawlers.spiders.profile import ProfileSpider
from crawlers.spiders.reddit import RedditSpider
from crawlers.spiders.reviews import ReviewsSpider
from crawlers.spiders.rss import RssSpider

__all__ = ["SOURCE_KINDS", "SourceKind", "get_kind"]


@attrs.frozen
class SourceKind:
    """A crawlable kind of source: the spider that crawls it and the model of its `params`."""

    name: str
    spider: type[MentionSpider]
    needs_urls: bool

    @property
    def params_model(self) -> type[BaseModel]:
        return self.spider.params_model

    def validate_params(self, params: Mapping[str, Any]) -> BaseModel:
        """Validate a source's params the way the spider will (pydantic.ValidationError on a problem)."""
        return self.params_model.model_validate(dict(params))


SOURCE_KINDS: Mapping[str, SourceKind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            SourceKind(name="rss", spider=RssSpider, needs_urls=True),
            SourceKind(name="reddit", spider=RedditSpider, needs_urls=False),
            SourceKind(name="mastodon", spider=MastodonSpider, needs_urls=False),
            SourceKind(name="bluesky", spider=BlueskySpider, needs_urls=False),
            SourceKind(name="hackernews", spider=HackernewsSpider, needs_urls=False),
            SourceKind(name="appstore", spider=AppstoreSpider, needs_urls=False),
            SourceKind(name="reviews", spider=ReviewsSpider, needs_urls=True),
            SourceKind(name="profile", spider=ProfileSpider, needs_urls=True),
        )
    }
)


def get_kind(name: str) -> SourceKind:
    try:
        return SOURCE_KINDS[name]
    except KeyError:
        known = ", ".join(sorted(SOURCE_KINDS))
        raise UnknownKindError(f"unknown source kind {name!r} (known: {known})") from None
