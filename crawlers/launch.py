"""The crawl process: one RunSpec in (stdin), one crawl, one summary line out (stdout), an exit code.

Scrapy's reactor cannot be restarted, so every crawl is its own process (`python -m crawlers`), launched by
`vocwatch` with the RunSpec on stdin. Exit codes:

    0  the crawl ran and its crawl_run is `ok`
    1  the crawl ran and its crawl_run is `failed` (source unreachable, blocked, nothing parseable...)
    2  nothing was crawled: invalid RunSpec, unknown kind, source missing from the database, setup error

On exit 0 and 1, stdout holds one JSON line (run id, status, stop reason, counters); on any failure the
last line of stderr is one sentence saying what is wrong. Scrapy's own log goes to stderr at the
RunSpec's log level.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from crawlers.errors import CrawlError
from crawlers.registry import get_kind
from crawlers.runspec import RunSpec
from crawlers.scaleout import shared_frontier_settings

__all__ = ["EXIT_CRAWL_FAILED", "EXIT_OK", "EXIT_SETUP_FAILED", "crawl_settings", "main", "run_crawl"]

EXIT_OK = 0
EXIT_CRAWL_FAILED = 1
EXIT_SETUP_FAILED = 2

_PROG = "vocwatch-crawl"


def crawl_settings(spec: RunSpec) -> Settings:
    """Project settings (`crawlers.settings`) with the RunSpec applied at "cmdline" priority, which beats
    the project module and spiders' custom_settings: the operator's config is the last word."""
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    values: dict[str, Any] = {
        "VOCWATCH_DATABASE_URL": spec.database_url,
        "VOCWATCH_SOURCE_NAME": spec.source_name,
        "VOCWATCH_DEFAULT_TOUCHPOINT": spec.default_touchpoint,
        "VOCWATCH_AUTHOR_PRIVACY": spec.author_privacy,
        "VOCWATCH_AUTHOR_HASH_KEY": spec.author_hash_key,  # not a Scrapy default: never in its settings log
        "ROBOTSTXT_OBEY": spec.obey_robots,
        "CONCURRENT_REQUESTS_PER_DOMAIN": spec.concurrency_per_domain,
        "DOWNLOAD_DELAY": spec.download_delay_s,
        # AutoThrottle starts at the configured delay and adapts from there (never below DOWNLOAD_DELAY).
        "AUTOTHROTTLE_START_DELAY": spec.download_delay_s,
        "DOWNLOAD_TIMEOUT": spec.download_timeout_s,
        "RETRY_TIMES": spec.retry_times,
        "LOG_LEVEL": spec.log_level,
    }
    if spec.user_agent:
        values["USER_AGENT"] = spec.user_agent
    if spec.redis_url is not None and spec.redis_key is not None:
        values.update(
            shared_frontier_settings(
                redis_url=spec.redis_url,
                redis_key=spec.redis_key,
                idle_s=spec.frontier_idle_s,
                concurrency=spec.concurrency_per_domain,
            )
        )
    settings.setdict(values, priority="cmdline")
    return settings


def run_crawl(spec: RunSpec) -> dict[str, Any]:
    """Run one crawl to the end in this process (starts and stops the reactor: once per process).

    Returns the summary the ledger left in the crawler stats. Raises CrawlError when the crawl could not
    start (e.g. SourceNotFoundError from the ledger), and re-raises any other startup failure.
    """
    kind = get_kind(spec.kind)
    process = CrawlerProcess(crawl_settings(spec), install_root_handler=True)
    crawler: Crawler = process.create_crawler(kind.spider)
    failures: list[Failure] = []
    process.crawl(crawler, spec=spec).addErrback(failures.append)
    process.start()
    if failures:
        failures[0].raiseException()
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    if "vocwatch/status" not in stats:
        raise CrawlError("the crawl ended without a ledger record (is CrawlLedger disabled?)")
    return {
        "source": spec.source_name,
        "run_id": stats.get("vocwatch/run_id"),
        "status": stats["vocwatch/status"],
        "stop_reason": stats.get("vocwatch/stop_reason"),
        "error": stats.get("vocwatch/error"),
        "pages": stats.get("vocwatch/pages", 0),
        "items_seen": stats.get("vocwatch/items_seen", 0),
        "items_new": stats.get("vocwatch/items_new", 0),
        "items_duplicate": stats.get("vocwatch/items_known", 0) + stats.get("vocwatch/items_duplicate", 0),
        "items_failed": stats.get("vocwatch/items_failed", 0),
    }


def main(stdin: IO[bytes] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        spec = RunSpec.from_json(stdin.read())
        summary = run_crawl(spec)
    except CrawlError as exc:
        print(f"{_PROG}: {exc}", file=stderr)
        return EXIT_SETUP_FAILED
    except Exception as exc:  # one line for the caller; the traceback is already in Scrapy's log
        print(f"{_PROG}: crawl could not run: {type(exc).__name__}: {exc}", file=stderr)
        return EXIT_SETUP_FAILED
    print(json.dumps(summary, sort_keys=True), file=stdout)
    if summary["status"] != "ok":
        print(
            f"{_PROG}: crawl of {spec.source_name!r} failed: {summary['stop_reason']}: {summary['error']}",
            file=stderr,
        )
        return EXIT_CRAWL_FAILED
    return EXIT_OK
