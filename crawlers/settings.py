"""Scrapy project settings for vocwatch crawls: polite defaults that a RunSpec may tighten or relax.

`python -m crawlers` loads this module, then applies the RunSpec's values at "cmdline" priority (see
`crawlers.launch.crawl_settings`). Components (pipelines, the ledger, the retry middleware) are installed
by the add-on, so that a developer's `scrapy crawl` gets exactly what production gets.
Custom settings carry a VOCWATCH_ prefix. A value that code also needs (a component's fallback, a
RunSpec default) comes from `crawlers.defaults`, where it is defined once and explained.
"""

from crawlers import defaults

BOT_NAME = "vocwatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
ADDONS = {"crawlers.addon.VocwatchAddon": 0}

# Identify ourselves; operators set a contact URL in vocwatch.toml (RunSpec.user_agent).
USER_AGENT = defaults.USER_AGENT

# Politeness.
ROBOTSTXT_OBEY = defaults.ROBOTSTXT_OBEY
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = defaults.CONCURRENT_REQUESTS_PER_DOMAIN
DOWNLOAD_DELAY = defaults.DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY  # then adapts, never below DOWNLOAD_DELAY
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Retries (RetryAfterMiddleware reads these): 429 and transient 5xx, with backoff and Retry-After.
RETRY_ENABLED = True
RETRY_TIMES = defaults.RETRY_TIMES
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
VOCWATCH_RETRY_BACKOFF_BASE_S = defaults.VOCWATCH_RETRY_BACKOFF_BASE_S
VOCWATCH_RETRY_BACKOFF_MAX_S = defaults.VOCWATCH_RETRY_BACKOFF_MAX_S
VOCWATCH_RETRY_AFTER_MAX_S = defaults.VOCWATCH_RETRY_AFTER_MAX_S

# Bounds: a hung server or a runaway body must not stall the scheduler's crawl slot.
DOWNLOAD_TIMEOUT = defaults.DOWNLOAD_TIMEOUT
DNS_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024

# Feeds and APIs need no cookies. The telnet console and the remote-control server would open a port
# (and write job files) for every crawl process: a crawl is driven by its RunSpec and signals only.
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Storage: batched inserts, one transaction per batch (what a killed crawl had flushed stays stored); a
# batch that meets a locked or unavailable database is tried again with backoff (StorePipeline).
VOCWATCH_STORE_BATCH_SIZE = defaults.VOCWATCH_STORE_BATCH_SIZE
VOCWATCH_STORE_ATTEMPTS = defaults.VOCWATCH_STORE_ATTEMPTS
VOCWATCH_STORE_RETRY_WAIT_S = defaults.VOCWATCH_STORE_RETRY_WAIT_S
# How often a crawl checks that the process which started it is still there (crawlers.parentwatch).
VOCWATCH_PARENT_CHECK_S = defaults.VOCWATCH_PARENT_CHECK_S

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
