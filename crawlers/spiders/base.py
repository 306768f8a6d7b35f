"""MentionSpider: what every source kind shares — the RunSpec, incremental stop, lookback, page budget.

Spiders only orchestrate (which URL next, when to stop); parsing lives in `crawlers.parsing`, storage in the
pipelines. A spider never imports storage: the coverage ledger hands it the source's state (its stored cursor
and a way to ask which ids are already stored) through `attach_state` when the crawl opens.

Stopping is decided per *chain*: a start URL and the next pages followed from it. One feed of a source being
caught up must not stop another feed of the same source from being read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import attrs
from pydantic import BaseModel, ConfigDict, ValidationError
from scrapy import Request, Spider
from scrapy.http import Response

from crawlers.errors import RunSpecError
from crawlers.items import MentionItem
from crawlers.outcome import SPIDER_REASON_ORDER, StopReason
from crawlers.runspec import RunSpec

__all__ = ["CHAIN_META_KEY", "KnownIds", "MentionSpider", "NoParams", "SourceState"]

CHAIN_META_KEY = "vocwatch_chain"  # request.meta key naming the start URL a request descends from


class KnownIds(Protocol):
    """Which of these external ids are already stored for this source (one indexed query per page)."""

    def __call__(self, external_ids: Collection[str], /) -> set[str]: ...


def _nothing_known(external_ids: Collection[str], /) -> set[str]:
    return set()


@attrs.frozen
class SourceState:
    """What earlier runs left behind: the stored cursor and the lookup of stored ids.

    The default (empty cursor, nothing known) is what a spider sees when it runs without the ledger,
    e.g. under `scrapy crawl` or `scrapy parse` during development.
    """

    cursor: Mapping[str, Any] = attrs.field(factory=dict)
    known_ids: KnownIds = _nothing_known


class NoParams(BaseModel):
    """Params model of kinds that take none: any key is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MentionSpider(Spider):
    """Base of all vocwatch spiders. Subclasses set `name`, `kind`, `params_model` and write `start`/`parse`
    with `start_page`, `next_page` and `until_seen`.

    Counters go to the crawler stats under `vocwatch/...`; the ledger turns them into a crawl_run:
    items_seen (every item parsed), items_known (already stored or repeated in this run), items_too_old
    (older than the lookback).
    """

    kind: ClassVar[str]
    params_model: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, spec: RunSpec | str | None = None, **kwargs: Any) -> None:
        if spec is None:
            raise RunSpecError(f"the {self.name!r} spider needs a RunSpec: -a spec='{{...json...}}'")
        super().__init__(**kwargs)
        self.spec: RunSpec = spec if isinstance(spec, RunSpec) else RunSpec.from_json(spec)
        try:
            self.params: BaseModel = self.params_model.model_validate(self.spec.params)
        except ValidationError as exc:
            problems = "; ".join(f"params.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise RunSpecError(f"invalid RunSpec for kind {self.kind!r}: {problems}") from None
        self.state = SourceState()
        self.started_at = datetime.now(UTC)
        self._pages_requested = 0
        self._chain_reasons: dict[str, StopReason] = {}
        self._emitted: set[str] = set()

    # -- state from the ledger -------------------------------------------------------------------------

    def attach_state(self, state: SourceState) -> None:
        """Called by the ledger at spider_opened, before the first request is made."""
        self.state = state

    def next_cursor(self) -> dict[str, Any] | None:
        """The cursor to store when the crawl succeeds; None keeps the stored one. Kinds override this."""
        return None

    # -- requests: page budget and chains --------------------------------------------------------------

    def start_page(self, url: str, **kwargs: Any) -> Request | None:
        """A request for a start URL (a new chain), or None when the page budget is spent."""
        return self._budgeted(url, chain=url, **kwargs)

    def next_page(self, response: Response, url: str, **kwargs: Any) -> Request | None:
        """A request for the page after `response` in the same chain, or None when that chain has stopped
        (caught up, lookback) or the page budget is spent."""
        chain = self.chain_of(response)
        if chain in self._chain_reasons:
            return None
        return self._budgeted(response.urljoin(url), chain=chain, **kwargs)

    def _budgeted(self, url: str, *, chain: str, **kwargs: Any) -> Request | None:
        budget = self.spec.max_pages
        if budget is not None and self._pages_requested >= budget:
            self.stop_chain(chain, StopReason.CAP_REACHED)
            return None
        self._pages_requested += 1
        meta = {**kwargs.pop("meta", {}), CHAIN_META_KEY: chain}
        return Request(url, meta=meta, **kwargs)

    @staticmethod
    def chain_of(response: Response) -> str:
        return str(response.meta.get(CHAIN_META_KEY, response.url))

    def stop_chain(self, chain: str, reason: StopReason) -> None:
        """Stop following pages of one chain; the first reason given is kept."""
        if chain not in self._chain_reasons:
            self.logger.info("stopping %s: %s", chain, reason)
            self._chain_reasons[chain] = reason

    def final_stop_reason(self) -> StopReason:
        """The run's reason: the most telling one over all chains (a cap anywhere beats caught up)."""
        reasons = set(self._chain_reasons.values())
        return next((r for r in SPIDER_REASON_ORDER if r in reasons), StopReason.COMPLETED)

    # -- items: incremental stop and lookback ----------------------------------------------------------

    @property
    def cutoff(self) -> datetime | None:
        """Items published before this are not collected (bounds a first run; None: no bound)."""
        days = self.spec.lookback_days
        return None if days is None else self.started_at - timedelta(days=days)

    def until_seen(
        self, response: Response, items: Iterable[MentionItem], *, ordered: bool = True
    ) -> list[MentionItem]:
        """Keep the items not stored yet and not older than the lookback.

        With `ordered` (the page lists newest first, as feeds and listings do), meeting a stored item
        stops the chain as caught up, and meeting a too-old item stops it at the lookback: the pages after
        this one hold only older items. Items without an id are passed on for the validator to count.
        """
        batch: Sequence[MentionItem] = list(items)
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("vocwatch/items_seen", len(batch))
        ids = {item.external_id for item in batch if item.external_id}
        stored = self.state.known_ids(ids - self._emitted) if ids - self._emitted else set()
        cutoff = self.cutoff
        fresh: list[MentionItem] = []
        met_stored = met_old = False
        for item in batch:
            if item.external_id in stored:
                met_stored = True
                stats.inc_value("vocwatch/items_known")
            elif item.external_id and item.external_id in self._emitted:
                stats.inc_value("vocwatch/items_known")  # repeated within this run (two feeds, page overlap)
            elif cutoff is not None and item.published_at is not None and item.published_at < cutoff:
                met_old = True
                stats.inc_value("vocwatch/items_too_old")
            else:
                if item.external_id:
                    self._emitted.add(item.external_id)
                fresh.append(item)
        if ordered and met_stored:
            self.stop_chain(self.chain_of(response), StopReason.CAUGHT_UP)
        elif ordered and met_old:
            self.stop_chain(self.chain_of(response), StopReason.LOOKBACK_REACHED)
        return fresh

    def page_failed(self, response: Response, error: Exception) -> None:
        """Count a page that arrived but could not be parsed; the crawl goes on with the other pages."""
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("vocwatch/pages_failed")
        self.logger.warning("could not parse %s: %s", response.url, error)
