"""Launch one crawl as `python -m crawlers` in its own process.

Scrapy's Twisted reactor cannot be restarted inside one process, and the daemon must crawl again and
again, so every crawl gets a fresh process. The RunSpec travels on stdin, never argv, where `ps` would
show a database password.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from crawlers.runspec import RunSpec
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings, SourceSettings

__all__ = ["CrawlOutcome", "make_runspec", "run_crawl"]


@dataclass(frozen=True)
class CrawlOutcome:
    source: str
    returncode: int
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def make_runspec(settings: Settings, name: str, source: SourceSettings) -> RunSpec:
    """Everything one crawl process needs, as plain values taken from Settings."""
    crawl = settings.crawl
    return RunSpec(
        source_name=name,
        kind=source.kind,
        urls=source.urls,
        query=source.query,
        params=source.params,
        credentials={key: value.get_secret_value() for key, value in source.credentials.items()},
        database_url=settings.effective_database_url,
        user_agent=crawl.user_agent,
        obey_robots=crawl.obey_robots,
        lookback_days=crawl.lookback_days,
        max_pages=crawl.max_pages,
        concurrency_per_domain=crawl.concurrency_per_domain,
        download_delay_s=crawl.download_delay_s,
    )


def run_crawl(spec: RunSpec, *, timeout_s: float) -> CrawlOutcome:
    """Run one crawl to completion; the crawl process writes mentions and its crawl_run row itself."""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "crawlers"],
            input=spec.model_dump_json(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise VocwatchError(
            f"crawl of {spec.source_name} did not finish within {timeout_s:.0f} s",
            fix="raise crawl.timeout_s or lower crawl.max_pages",
        ) from exc
    tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
    return CrawlOutcome(source=spec.source_name, returncode=completed.returncode, stderr_tail=tail)
