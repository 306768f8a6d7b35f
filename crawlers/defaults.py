"""The default of every crawl setting that more than one place needs, defined once.

Each name is the Scrapy setting it is the default of. `crawlers.settings` (the project module) sets
them from here, so `scrapy settings --get ...` and a project override behave as for any Scrapy setting;
the component that reads a VOCWATCH_* setting falls back to the same value when a crawl runs without the
project module (the add-on in another Scrapy project, a test's bare `Settings`); and `RunSpec`'s
politeness fields default to the values a developer's `scrapy crawl` gets. Scrapy settings that only
Scrapy reads stay literals in `crawlers.settings`.

This module imports nothing: `crawlers.runspec` (and through it `vocwatch`) reads it cheaply.
"""

from typing import Final

__all__ = [
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY",
    "DOWNLOAD_TIMEOUT",
    "RETRY_TIMES",
    "ROBOTSTXT_OBEY",
    "USER_AGENT",
    "VOCWATCH_PARENT_CHECK_S",
    "VOCWATCH_RETRY_AFTER_MAX_S",
    "VOCWATCH_RETRY_BACKOFF_BASE_S",
    "VOCWATCH_RETRY_BACKOFF_MAX_S",
    "VOCWATCH_STORE_ATTEMPTS",
    "VOCWATCH_STORE_BATCH_SIZE",
    "VOCWATCH_STORE_RETRY_WAIT_S",
]

# Politeness (RunSpec fields of the same meaning override these at "cmdline" priority).
USER_AGENT: Final = "vocwatch/0.1 (self-hosted voice-of-customer monitor)"
ROBOTSTXT_OBEY: Final = True
CONCURRENT_REQUESTS_PER_DOMAIN: Final = 2
DOWNLOAD_DELAY: Final = 1.0
DOWNLOAD_TIMEOUT: Final = 30.0
RETRY_TIMES: Final = 3

# RetryAfterMiddleware: a retried request waits base × 2^retries (±20 % jitter), at most the max, unless a
# 429/503 says `Retry-After`; a Retry-After above VOCWATCH_RETRY_AFTER_MAX_S gives the response up.
VOCWATCH_RETRY_BACKOFF_BASE_S: Final = 1.0
VOCWATCH_RETRY_BACKOFF_MAX_S: Final = 60.0
VOCWATCH_RETRY_AFTER_MAX_S: Final = 120.0

# StorePipeline: mentions per insert transaction; a batch that meets a locked or unavailable database is
# tried VOCWATCH_STORE_ATTEMPTS times in all, the first wait about VOCWATCH_STORE_RETRY_WAIT_S and each
# next one about twice as long (the policy: `crawlers.pipelines.store_retrying`).
VOCWATCH_STORE_BATCH_SIZE: Final = 50
VOCWATCH_STORE_ATTEMPTS: Final = 5
VOCWATCH_STORE_RETRY_WAIT_S: Final = 0.5

# ParentWatch: how often a crawl checks that the process which started it is still there (0 turns it off).
VOCWATCH_PARENT_CHECK_S: Final = 1.0
