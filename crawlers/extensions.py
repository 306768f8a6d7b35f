"""CrawlLedger: the coverage ledger's writer — one crawl_runs row per crawl, opened at start, closed at end.

The row is inserted (status `running`) when the spider opens, so a crawl killed with SIGKILL still leaves
a trace: a run that never finished. At close it records items seen/new/duplicate/failed, pages, HTTP status
counts, the stop reason and, when something went wrong, one error line; on success it stores the spider's
new cursor in the same transaction. The ledger also hands the spider the source's state (stored cursor,
lookup of stored ids) so that spiders stay free of storage.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

import attrs
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

import storage
from crawlers.errors import RunSpecError, SourceNotFoundError
from crawlers.outcome import CrawlOutcome, decide_outcome
from crawlers.scaleout import FRONTIER_ERROR_STAT, SHARED_FRONTIER_STAT
from crawlers.spiders.base import MentionSpider, SourceState
from storage.models import CrawlRun, Mention

__all__ = ["CrawlLedger", "SourceRecord", "load_source"]

logger = logging.getLogger(__name__)


@attrs.frozen
class SourceRecord:
    """The source row's values a crawl needs, read once at start."""

    id: int
    name: str
    touchpoint_id: int | None
    cursor: dict[str, Any]
    # When the source's latest successful crawl ended. Only mentions collected by then are known to be
    # followed by everything older: see `CrawlLedger.known_ids`.
    complete_until: datetime | None = None


def load_source(session: Session, name: str, *, touchpoint: str | None = None) -> SourceRecord:
    """Read the source row; the RunSpec's touchpoint (by name), if given, overrides the source default.

    Raises SourceNotFoundError: the crawl never creates sources, `vocwatch` syncs them from the config,
    and a crawl of an unknown source means the two disagree.
    """
    source = storage.sources.get_source(session, name)
    if source is None:
        raise SourceNotFoundError(
            f"source {name!r} is not in the database: sync the config first (vocwatch crawl does)"
        )
    touchpoint_id = source.default_touchpoint_id
    if touchpoint is not None:
        touchpoint_id = storage.catalog.get_touchpoint_id(session, touchpoint)
        if touchpoint_id is None:
            raise RunSpecError(f"source {name!r}: unknown touchpoint {touchpoint!r}")
    complete_until = session.scalar(
        select(func.max(CrawlRun.finished_at)).where(
            CrawlRun.source_id == source.id, CrawlRun.status == storage.CrawlRunStatus.OK
        )
    )
    return SourceRecord(
        id=source.id,
        name=name,
        touchpoint_id=touchpoint_id,
        cursor=dict(source.cursor or {}),
        complete_until=complete_until,
    )


def open_database(crawler: Crawler) -> tuple[Engine, sessionmaker[Session]]:
    """The engine for VOCWATCH_DATABASE_URL; NotConfigured without one (a `scrapy crawl -O` dry run)."""
    url = crawler.settings.get("VOCWATCH_DATABASE_URL")
    if not url:
        raise NotConfigured("VOCWATCH_DATABASE_URL is not set: nothing is stored")
    engine = storage.make_engine(url)
    return engine, storage.make_session_factory(engine)


class CrawlLedger:
    """Scrapy extension (installed by VocwatchAddon): one crawl_runs row per crawl, and the source's
    state for the spider. Counters come from the crawler stats the spider and pipelines keep
    (`vocwatch/...`) plus the HTTP answers it sees itself, robots.txt excluded."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        source: SourceRecord,
        stats: StatsCollector,
        engine: Engine | None = None,
    ) -> None:
        self._sessions = sessions
        self._source = source
        self._stats = stats
        self._engine = engine  # disposed at close when the ledger made it
        self._run_id: int | None = None
        self._status_counts: Counter[str] = Counter()
        self._pages = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Fails the crawl before it starts (SourceNotFoundError) when the source row is missing."""
        name = crawler.settings.get("VOCWATCH_SOURCE_NAME")
        if not name:
            raise NotConfigured("VOCWATCH_SOURCE_NAME is not set")
        engine, sessions = open_database(crawler)
        try:
            with sessions.begin() as session:
                source = load_source(
                    session, name, touchpoint=crawler.settings.get("VOCWATCH_DEFAULT_TOUCHPOINT")
                )
        except Exception:
            engine.dispose()
            raise
        assert crawler.stats is not None
        ledger = cls(sessions, source=source, stats=crawler.stats, engine=engine)
        crawler.signals.connect(ledger.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ledger.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ledger.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ledger.response_received, signal=signals.response_received)
        return ledger

    @property
    def run_id(self) -> int | None:
        return self._run_id

    def spider_opened(self, spider: Spider) -> None:
        with self._sessions.begin() as session:
            self._run_id = storage.runs.start_run(
                session, source_id=self._source.id, now=datetime.now(UTC)
            ).id
        self._stats.set_value("vocwatch/run_id", self._run_id)
        if isinstance(spider, MentionSpider):
            spider.attach_state(SourceState(cursor=self._source.cursor, known_ids=self.known_ids))

    def known_ids(self, external_ids: Collection[str]) -> set[str]:
        """The ids stored by the time the latest successful crawl ended; spiders stop paginating at them.

        A mention stored later came from a crawl that did not finish (killed after committing a batch of
        the newest items): the older pages behind it were never read, so stopping there as "caught up"
        would lose them for good. Such mentions are not reported as known; the spider reads on, and the
        store pipeline counts them as duplicates. Blocking, but one indexed query per page: cheaper than a
        thread hop for a few dozen ids.
        """
        complete_until = self._source.complete_until
        if complete_until is None or not external_ids:
            return set()
        with self._sessions.begin() as session:
            return set(
                session.scalars(
                    select(Mention.external_id).where(
                        Mention.source_id == self._source.id,
                        Mention.external_id.in_(list(external_ids)),
                        Mention.collected_at <= complete_until,
                    )
                )
            )

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        """Every HTTP answer, retried ones included (a 429 that was retried is still a 429 to report)."""
        if not _is_robots_txt(request):
            self._status_counts[str(response.status)] += 1

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        """Final answers only (after retries and redirects): the pages handed to the spider."""
        if not _is_robots_txt(request) and (200 <= response.status < 300 or response.status == 304):
            self._pages += 1

    def spider_closed(self, spider: Spider, reason: str) -> None:
        outcome = self.outcome(spider, reason)
        error = outcome.error or self.partial_failures()
        stat = self._stats.get_value
        if stat("vocwatch/store_errors", 0) and stat("vocwatch/store_error"):  # say why, e.g. locked
            error = f"{error}: {stat('vocwatch/store_error')}"
        if stat(FRONTIER_ERROR_STAT):  # why the shared frontier was lost (crawlers.frontier)
            error = f"{error}: {stat(FRONTIER_ERROR_STAT)}"
        cursor = spider.next_cursor() if isinstance(spider, MentionSpider) else None
        try:
            with self._sessions.begin() as session:
                run = session.get(storage.models.CrawlRun, self._run_id) if self._run_id is not None else None
                if run is None:  # spider_opened failed to write: still leave a record
                    run = storage.runs.start_run(session, source_id=self._source.id, now=datetime.now(UTC))
                storage.runs.finish_run(
                    run,
                    now=datetime.now(UTC),
                    status=storage.CrawlRunStatus(outcome.status.value),
                    items_seen=stat("vocwatch/items_seen", 0),
                    items_new=stat("vocwatch/items_new", 0),
                    items_duplicate=stat("vocwatch/items_known", 0) + stat("vocwatch/items_duplicate", 0),
                    items_failed=stat("vocwatch/items_failed", 0),
                    pages=self._pages,
                    http_status_counts=dict(sorted(self._status_counts.items())),
                    stop_reason=outcome.stop_reason.value,
                    error=error,
                )
                if cursor is not None and outcome.status.value == "ok":
                    storage.sources.set_cursor(session, self._source.id, cursor)
                self._run_id = run.id
        finally:
            if self._engine is not None:
                self._engine.dispose()
        self._stats.set_value("vocwatch/run_id", self._run_id)
        self._stats.set_value("vocwatch/status", outcome.status.value)
        self._stats.set_value("vocwatch/stop_reason", outcome.stop_reason.value)
        self._stats.set_value("vocwatch/error", error)
        self._stats.set_value("vocwatch/pages", self._pages)
        log = logger.info if outcome.status.value == "ok" else logger.warning
        log(
            "crawl of %s: %s (%s)%s",
            self._source.name,
            outcome.status,
            outcome.stop_reason,
            f": {error}" if error else "",
        )

    def partial_failures(self) -> str | None:
        """One line naming what failed in a run that is `ok` overall, else None.

        A source with several feeds is `ok` when any of them could be read, so a feed that stalls, resets
        or answers 503 on every try would leave no trace in the ledger; this line is that trace
        ("partial: HTTP 503×2, DownloadTimeoutError×2, 1 page(s) unparseable").
        """
        stat = self._stats.get_value
        parts = [f"HTTP {code}×{n}" for code, n in sorted(self._status_counts.items()) if int(code) >= 400]
        parts += [f"{name}×{n}" for name, n in sorted(self._download_exceptions().items())]
        unparseable = stat("vocwatch/pages_failed", 0) + stat("spider_exceptions/count", 0)
        if unparseable:
            parts.append(f"{unparseable} page(s) unparseable")
        if stat("vocwatch/retry_after_too_long", 0):
            parts.append(f"{stat('vocwatch/retry_after_too_long')} Retry-After too long")
        return "partial: " + ", ".join(parts) if parts else None

    def _download_exceptions(self) -> dict[str, int]:
        """Download errors by exception class name, as Scrapy's downloader stats count them."""
        prefix = "downloader/exception_type_count/"
        return {
            name: int(value)
            for key, value in self._stats.get_stats().items()
            if key.startswith(prefix)
            # IgnoreRequest is a decision (robots.txt, offsite), not a download failure
            and (name := key.removeprefix(prefix).rsplit(".", 1)[-1]) != "IgnoreRequest"
        }

    def outcome(self, spider: Spider, reason: str) -> CrawlOutcome:
        stat = self._stats.get_value
        exceptions = self._download_exceptions()
        return decide_outcome(
            close_reason=reason,
            spider_reason=spider.final_stop_reason() if isinstance(spider, MentionSpider) else None,
            pages=self._pages,
            # a callback that raised (a parser bug) read nothing from its page either
            pages_failed=stat("vocwatch/pages_failed", 0) + stat("spider_exceptions/count", 0),
            pages_not_modified=stat("vocwatch/pages_not_modified", 0),
            status_counts=self._status_counts,
            exception_counts=exceptions,
            store_errors=stat("vocwatch/store_errors", 0),
            robots_forbidden=stat("robotstxt/forbidden", 0),
            shared_frontier=bool(stat(SHARED_FRONTIER_STAT, 0)),
        )


def _is_robots_txt(request: Request) -> bool:
    """robots.txt fetches (often a harmless 404) say nothing about the source's health."""
    return urlsplit(request.url).path == "/robots.txt"
