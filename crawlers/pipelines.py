"""Item pipelines: ValidatePipeline drops and counts malformed items, StorePipeline writes mentions.

StorePipeline batches: one transaction per batch (VOCWATCH_STORE_BATCH_SIZE, and whatever is left at
close), run in a worker thread so a database busy with the analyzer never stalls the crawl's event loop.
A batch is committed on its own, so a crawl killed half-way keeps every batch it flushed, and the next
run's ON CONFLICT DO NOTHING makes the replay harmless.

A batch that meets an unavailable database (SQLite's write lock held past the busy timeout by the
analyzer and dispatcher, PostgreSQL restarting) is tried again with exponential backoff (`store_retrying`),
up to VOCWATCH_STORE_ATTEMPTS times in all: SQLite's busy handler is not fair, so under a steady stream of
other writers one wait can time out although the database is fine. Only when every attempt failed is the
batch counted as failed (the run then ends `failed` and the next one fetches it again).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.asyncio import run_in_thread
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

import storage
from crawlers import defaults
from crawlers.errors import RunSpecError
from crawlers.extensions import SourceRecord, load_source, open_database
from crawlers.items import MentionItem, mention_problems
from crawlers.privacy import AuthorPolicy, AuthorPrivacy

__all__ = ["StorePipeline", "ValidatePipeline", "storable", "store_retrying", "to_new_mention"]

logger = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")


def store_retrying(
    *, attempts: int, wait_s: float, before_sleep: Callable[[RetryCallState], None]
) -> Retrying:
    """The policy for storing a batch while the database is briefly unavailable.

    It retries only what `storage.engine.is_transient_error` calls transient (a SQLite write lock held past
    the busy timeout, PostgreSQL restarting), `attempts` times in all (at least once). The first wait is
    `wait_s` and each next one twice as long, at most 30 × `wait_s`, plus up to `wait_s` of jitter so that
    crawls that met the same lock do not meet it again together. `before_sleep` is called before each
    wait (to log it); when every attempt failed, the last error is raised as itself.
    """
    return Retrying(
        retry=retry_if_exception(storage.engine.is_transient_error),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_exponential_jitter(initial=wait_s, max=30 * wait_s, jitter=wait_s),
        before_sleep=before_sleep,
        reraise=True,
    )


class ValidatePipeline:
    """Drop items no storage row should be made of (no id, no text, naive time, ...), counting each
    under `vocwatch/items_failed` so the ledger shows a parser that started to break."""

    def __init__(self, stats: StatsCollector) -> None:
        self._stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        problems = mention_problems(item)
        if problems:
            self._stats.inc_value("vocwatch/items_failed")
            raise DropItem(f"malformed mention {getattr(item, 'external_id', '')!r}: {'; '.join(problems)}")
        return item


class StorePipeline:
    """Insert-if-new in batches through `storage.mentions.insert_new_mentions`; counts new/duplicate."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        source_name: str,
        touchpoint: str | None,
        stats: StatsCollector,
        batch_size: int = defaults.VOCWATCH_STORE_BATCH_SIZE,
        store_attempts: int = defaults.VOCWATCH_STORE_ATTEMPTS,
        retry_wait_s: float = defaults.VOCWATCH_STORE_RETRY_WAIT_S,
        engine: Engine | None = None,
        authors: AuthorPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._source_name = source_name
        self._touchpoint = touchpoint
        self._stats = stats
        self._batch_size = batch_size
        self._retrying = store_retrying(
            attempts=store_attempts, wait_s=retry_wait_s, before_sleep=self._log_retry
        )
        self._engine = engine  # disposed at close when the pipeline made it
        self._authors = authors or AuthorPolicy()
        self._source: SourceRecord | None = None
        self._pending: list[MentionItem] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        source_name = crawler.settings.get("VOCWATCH_SOURCE_NAME")
        if not source_name:
            raise NotConfigured("VOCWATCH_SOURCE_NAME is not set: nothing is stored")
        privacy = crawler.settings.get("VOCWATCH_AUTHOR_PRIVACY") or AuthorPrivacy.KEEP
        key = crawler.settings.get("VOCWATCH_AUTHOR_HASH_KEY")
        try:
            authors = AuthorPolicy(privacy=AuthorPrivacy(privacy), key=key.encode("utf-8") if key else None)
        except ValueError as exc:  # an unknown mode, or "hash" without a key: refuse to store anything
            raise RunSpecError(str(exc)) from None
        engine, sessions = open_database(crawler)
        assert crawler.stats is not None
        return cls(
            sessions,
            source_name=source_name,
            touchpoint=crawler.settings.get("VOCWATCH_DEFAULT_TOUCHPOINT"),
            stats=crawler.stats,
            batch_size=crawler.settings.getint(
                "VOCWATCH_STORE_BATCH_SIZE", defaults.VOCWATCH_STORE_BATCH_SIZE
            ),
            store_attempts=crawler.settings.getint(
                "VOCWATCH_STORE_ATTEMPTS", defaults.VOCWATCH_STORE_ATTEMPTS
            ),
            retry_wait_s=crawler.settings.getfloat(
                "VOCWATCH_STORE_RETRY_WAIT_S", defaults.VOCWATCH_STORE_RETRY_WAIT_S
            ),
            engine=engine,
            authors=authors,
        )

    async def open_spider(self) -> None:
        self._source = await run_in_thread(self._load_source)

    async def process_item(self, item: MentionItem) -> MentionItem:
        self._pending.append(item)
        if len(self._pending) >= self._batch_size:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        try:
            await self._flush()
        finally:
            if self._engine is not None:
                self._engine.dispose()

    def _load_source(self) -> SourceRecord:
        with self._sessions.begin() as session:
            return load_source(session, self._source_name, touchpoint=self._touchpoint)

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            result = await run_in_thread(self._retrying, self._insert, batch)
        except Exception as exc:
            # Counted, not raised: the crawl goes on, and the ledger marks the run failed (no cursor
            # advance), so the next run fetches these items again. The first cause goes in its error line.
            logger.exception("could not store %d mention(s) of %s", len(batch), self._source_name)
            if not self._stats.get_value("vocwatch/store_error"):
                self._stats.set_value("vocwatch/store_error", storage.engine.describe_error(exc)[:300])
            self._stats.inc_value("vocwatch/store_errors", len(batch))
            self._stats.inc_value("vocwatch/items_failed", len(batch))
            return
        self._stats.inc_value("vocwatch/items_new", len(result.new_ids))
        self._stats.inc_value("vocwatch/items_duplicate", result.duplicates)
        self._stats.inc_value("vocwatch/items_copies", result.copies)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        logger.warning(
            "database unavailable storing a batch of %s (attempt %d), retrying in %.1f s: %s",
            self._source_name,
            state.attempt_number,
            state.upcoming_sleep,
            storage.engine.describe_error(error) if error is not None else "?",
        )

    def _insert(self, batch: list[MentionItem]) -> storage.InsertResult:
        assert self._source is not None, "open_spider() loads the source first"
        collected_at = datetime.now(UTC)
        rows = [
            to_new_mention(item, source=self._source, collected_at=collected_at, authors=self._authors)
            for item in batch
        ]
        with self._sessions.begin() as session:
            return storage.mentions.insert_new_mentions(session, rows)


def to_new_mention(
    item: MentionItem,
    *,
    source: SourceRecord,
    collected_at: datetime,
    authors: AuthorPolicy | None = None,
) -> storage.NewMention:
    """The one mapping from the crawler's item to storage's plain values (touchpoint: the source default).

    The author is stored as `authors` (crawl.author_privacy) says: kept, pseudonymised or dropped; this is
    the only place that decides it, for every kind.
    """
    return storage.NewMention(
        source_id=source.id,
        external_id=storable(item.external_id),
        url=storable(item.url),
        text=storable(item.text),
        raw=storable(item.raw),
        title=_storable_or_none(item.title),
        author=_storable_or_none((authors or AuthorPolicy()).apply(item.author)),
        lang=_storable_or_none(item.lang),
        rating=item.rating,
        published_at=item.published_at,
        author_followers=item.author_followers,
        score=item.score,
        replies=item.replies,
        reposts=item.reposts,
        likes=item.likes,
        parent_external_id=_storable_or_none(item.parent_external_id),
        thread_external_id=_storable_or_none(item.thread_external_id),
        touchpoint_id=source.touchpoint_id,
        collected_at=collected_at,
    )


def storable(value: str) -> str:
    """`value` without what a database refuses: NUL (PostgreSQL text) and lone surrogates (UTF-8).

    Both arrive in JSON (`"\\u0000"`, `"\\ud800"`) from any source. One such value would fail its whole
    batch, and the run would fetch and fail it again every time (a poison pill); dropping NUL and
    replacing a surrogate with U+FFFD changes nothing a reader could see.
    """
    return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))


def _storable_or_none(value: str | None) -> str | None:
    return None if value is None else storable(value)
