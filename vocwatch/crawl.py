"""Launch one crawl as `python -m crawlers` in its own process.

Scrapy's Twisted reactor cannot be restarted inside one process, and the daemon must crawl again and
again, so every crawl gets a fresh process. The RunSpec travels on stdin, never argv, where `ps` would
show a database password.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from crawlers.runspec import RunSpec
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings, SourceSettings

__all__ = ["CrawlOutcome", "make_runspec", "run_crawl", "terminate_running_crawls"]


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
        author_privacy=crawl.author_privacy,
        author_hash_key=crawl.author_hash_key.get_secret_value() if crawl.author_hash_key else None,
    )


def run_crawl(spec: RunSpec, *, timeout_s: float) -> CrawlOutcome:
    """Run one crawl to completion; the crawl process writes mentions and its crawl_run row itself.

    The process is registered while it runs, so that a stopping daemon can end it at once
    (`terminate_running_crawls`) instead of waiting up to `timeout_s` for it."""
    with subprocess.Popen(
        [sys.executable, "-m", "crawlers"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        with _running_lock:
            _running.add(process)
        try:
            _, stderr = process.communicate(spec.model_dump_json(), timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            process.communicate()
            raise VocwatchError(
                f"crawl of {spec.source_name} did not finish within {timeout_s:.0f} s",
                fix="raise crawl.timeout_s or lower crawl.max_pages",
            ) from exc
        except BaseException:
            process.kill()
            raise
        finally:
            with _running_lock:
                _running.discard(process)
    tail = "\n".join(stderr.strip().splitlines()[-5:])
    return CrawlOutcome(source=spec.source_name, returncode=process.returncode, stderr_tail=tail)


_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.Lock()


def terminate_running_crawls(*, grace_s: float = 10.0) -> int:
    """SIGTERM every crawl process this process started that still runs (Scrapy then closes its spider
    and records its run); SIGKILL those still alive after `grace_s`. Returns how many were running."""
    with _running_lock:
        processes = [process for process in _running if process.poll() is None]
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + grace_s
    while any(process.poll() is None for process in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in processes:
        if process.poll() is None:
            process.kill()
    return len(processes)
