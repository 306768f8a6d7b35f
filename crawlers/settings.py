"""Scrapy project settings for vocwatch crawls: polite defaults that a RunSpec may tighten or relax.

`python -m crawlers` loads this module, then applies the RunSpec's values at "cmdline" priority (see
`crawlers.launch.crawl_settings`). Components (pipelines, the ledger, the retry middleware) are installed
by the add-on, so that a developer's `scrapy crawl` gets exactly what production gets.
Custom settings carry a VOCWATCH_ prefix.
"""

BOT_NAME = "vocwatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
ADDONS = {"crawlers.addon.VocwatchAddon": 0}

# Identify ourselves; operators set a contact URL in vocwatch.toml (RunSpec.user_agent).
USER_AGENT = "vocwatch/0.1 (self-hosted voice-of-customer monitor)"

# Politeness.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Retries (RetryAfterMiddleware reads these): 429 and transient 5xx, with backoff and Retry-After.
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
VOCWATCH_RETRY_BACKOFF_BASE_S = 1.0
VOCWATCH_RETRY_BACKOFF_MAX_S = 60.0
VOCWATCH_RETRY_AFTER_MAX_S = 120.0

# Bounds: a hung server or a runaway body must not stall the scheduler's crawl slot.
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 20
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024

# Feeds and APIs need no cookies. The telnet console and the remote-control server would open a port
# (and write job files) for every crawl process: a crawl is driven by its RunSpec and signals only.
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Storage: batched inserts, one transaction per batch (what a killed crawl had flushed stays stored).
VOCWATCH_STORE_BATCH_SIZE = 50
# A batch that meets a locked or unavailable database is tried this many times in all, waiting about
# 0.5 s, 1 s, 2 s, 4 s between attempts (StorePipeline).
VOCWATCH_STORE_ATTEMPTS = 5
VOCWATCH_STORE_RETRY_WAIT_S = 0.5
# How often a crawl checks that the process which started it is still there (crawlers.parentwatch).
VOCWATCH_PARENT_CHECK_S = 1.0

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
