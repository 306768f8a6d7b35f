"""vocwatch crawlers: Scrapy spiders that turn sources into mentions.

Layout: `items` (typed items), `parsing/` (pure functions: response → items), `spiders/` (orchestration:
pagination, incremental stop, page budget), `pipelines` and `extensions` (the only modules that touch
storage), `registry` (source kinds), `launch` (the crawl process behind `python -m crawlers`).

This module stays import-light (no Scrapy, no storage) so that `vocwatch` can build a RunSpec cheaply.
"""

from crawlers.errors import CrawlError, FeedError, RunSpecError, SourceNotFoundError, UnknownKindError
from crawlers.items import MentionItem
from crawlers.runspec import RunSpec

__all__ = [
    "CrawlError",
    "FeedError",
    "MentionItem",
    "RunSpec",
    "RunSpecError",
    "SourceNotFoundError",
    "UnknownKindError",
]
