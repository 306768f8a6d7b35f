"""Launch one crawl as `python -m crawlers` in its own process.

Scrapy's Twisted reactor cannot be restarted inside one process, and the daemon must crawl again and
again, so every crawl gets a fresh process. The RunSpec travels on stdin, never argv, where `ps` would
show a database password.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawlers.runspec import RunSpec
from crawlers.scaleout import FRONTIER_SUFFIXES
from vocwatch.errors import VocwatchError
from vocwatch.settings import Settings, SourceSettings

if TYPE_CHECKING:
    import redis

__all__ = [
    "CrawlOutcome",
    "expire_crawl_round",
    "join_crawl_round",
    "make_runspec",
    "run_crawl",
    "run_crawl_worker",
    "terminate_running_crawls",
]


@dataclass(frozen=True)
class CrawlOutcome:
    """How one crawl process ended; `summary` is the JSON line it prints last (status, stop reason, pages,
    items seen / new / duplicate / failed), empty when it printed none (it could not start)."""

    source: str
    returncode: int
    stderr_tail: str
    summary: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def items_new(self) -> int:
        return int(self.summary.get("items_new") or 0)

    def describe(self) -> str:
        """ "12 new of 30 seen, 2 pages (completed)": what the crawl did, in a few words."""
        if not self.summary:
            return "no summary"
        known = int(self.summary.get("items_duplicate") or 0)
        counts = f"{self.items_new} new of {self.summary.get('items_seen', 0)} seen ({known} known)"
        failed = int(self.summary.get("items_failed") or 0)
        extra = f", {failed} unreadable" if failed else ""
        return f"{counts}{extra}, {self.summary.get('pages', 0)} page(s) ({self.summary.get('stop_reason')})"


def make_runspec(
    settings: Settings, name: str, source: SourceSettings, *, redis_key: str | None = None
) -> RunSpec:
    """Everything one crawl process needs, as plain values taken from Settings.

    `redis_key` (from `join_crawl_round`) makes the crawl one worker of a shared-frontier round.
    """
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
        lookback_days=source.lookback_days or crawl.lookback_days,
        max_pages=crawl.max_pages,
        concurrency_per_domain=crawl.concurrency_per_domain,
        download_delay_s=crawl.download_delay_s,
        author_privacy=crawl.author_privacy,
        author_hash_key=crawl.author_hash_key.get_secret_value() if crawl.author_hash_key else None,
        redis_url=crawl.redis_url if redis_key is not None else None,
        redis_key=redis_key,
        frontier_idle_s=crawl.worker_idle_s,
    )


def join_crawl_round(redis_url: str, source: str, *, round_s: float) -> str:
    """The Redis key prefix of the source's current crawl round, starting a round if none is running.

    A round is one crawl of the source shared by every `vocwatch crawl --worker` that joins it within
    `round_s` (the source's schedule interval): the first worker starts it, the others join it, and a
    worker joining after the work is done finds every page already seen and ends at once. So workers
    started in a loop on any number of machines crawl each source once per interval, together.
    """
    client = _redis(redis_url)
    marker = f"vocwatch:crawl:{source}:round"
    ttl = max(int(round_s), 1)
    while True:
        client.set(marker, secrets.token_hex(8), nx=True, ex=ttl)
        round_id = client.get(marker)
        if round_id is not None:  # None only if the round expired between the two calls
            return f"vocwatch:crawl:{source}:{round_id}"


def expire_crawl_round(redis_url: str, redis_key: str, *, ttl_s: float) -> None:
    """Let a round's queue and fingerprints expire `ttl_s` after its last worker ended (Redis stays small;
    a worker still running refreshes them when it ends)."""
    client = _redis(redis_url)
    for suffix in FRONTIER_SUFFIXES:
        client.expire(f"{redis_key}:{suffix}", max(int(ttl_s), 1))


def _redis(url: str) -> redis.Redis:
    """A checked client; the `redis` extra is only needed by installations that scale out."""
    try:
        import redis
    except ImportError as exc:
        raise VocwatchError(
            "crawl.redis_url is set but the Redis client is not installed",
            fix="pip install 'vocwatch[redis]'",
        ) from exc
    try:
        client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
        client.ping()
    except redis.RedisError as exc:
        raise VocwatchError(
            f"Redis at crawl.redis_url is unreachable: {exc}",
            fix="start Redis or correct crawl.redis_url (e.g. redis://127.0.0.1:6379/0)",
        ) from exc
    return client


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
            stdout, stderr = process.communicate(spec.model_dump_json(), timeout=timeout_s)
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
    return CrawlOutcome(
        source=spec.source_name, returncode=process.returncode, stderr_tail=tail, summary=_summary(stdout)
    )


def _summary(stdout: str) -> dict[str, Any]:
    """The crawl process's last stdout line, a JSON object (crawlers.launch); {} when there is none."""
    lines = stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else {}
    except ValueError:
        return {}
    return summary if isinstance(summary, dict) else {}


def run_crawl_worker(settings: Settings, name: str, source: SourceSettings) -> CrawlOutcome:
    """One worker's share of the source's current shared-frontier round (`vocwatch crawl --worker`)."""
    redis_url = settings.crawl.redis_url
    if redis_url is None:
        raise VocwatchError(
            "crawl --worker needs a shared frontier", fix="set crawl.redis_url (VOCWATCH_CRAWL__REDIS_URL)"
        )
    round_s = source.every_minutes * 60
    key = join_crawl_round(redis_url, name, round_s=round_s)
    try:
        return run_crawl(
            make_runspec(settings, name, source, redis_key=key), timeout_s=settings.crawl.timeout_s
        )
    finally:
        expire_crawl_round(redis_url, key, ttl_s=round_s)


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
