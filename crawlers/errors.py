"""Errors the crawl process reports to its caller (the composition root reads the exit code and one line).

CrawlError
├── RunSpecError        the RunSpec on stdin is not valid JSON or fails validation
├── UnknownKindError    the RunSpec names a source kind that no spider handles
├── SourceNotFoundError the source row is missing: the composition root upserts sources before crawling
└── FeedError           a response is not a feed at all (raised by the parser, counted by the spider)

The crawlers cannot name vocwatch's settings or commands, so the fix the operator is shown for each of
these is written where they are reported (`vocwatch.cli.errors`).
"""

from __future__ import annotations

__all__ = ["CrawlError", "FeedError", "RunSpecError", "SourceNotFoundError", "UnknownKindError"]


class CrawlError(Exception):
    """Base of the errors raised by `crawlers`, so the entry point can turn any of them into one line."""


class RunSpecError(CrawlError, ValueError):
    """The crawl's only input is wrong; nothing was crawled and nothing was written."""


class UnknownKindError(CrawlError, LookupError):
    """No spider is registered for the kind; the message lists the kinds that exist."""


class SourceNotFoundError(CrawlError, LookupError):
    """The crawl refuses to create sources itself: config is synced into the database by `vocwatch` only."""


class FeedError(CrawlError, ValueError):
    """The body could not be read as RSS/Atom (an HTML error page, a truncated download, ...)."""
