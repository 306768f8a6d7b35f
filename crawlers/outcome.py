"""How a crawl ended: the status and stop reason the coverage ledger records (pure, no storage).

A crawl that "finished" without fetching a single page is not a success: a source gone dark (DNS gone,
server down, 403 wall) must show up in the ledger as failed with a reason, or nobody notices the silence.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

__all__ = [
    "PARENT_GONE_REASON",
    "SPIDER_REASON_ORDER",
    "CrawlOutcome",
    "CrawlStatus",
    "StopReason",
    "decide_outcome",
]

# The close reason of a crawl whose launching process died (crawlers.parentwatch).
PARENT_GONE_REASON = "parent_gone"


class StopReason(enum.StrEnum):
    """Why a crawl stopped; stored as crawl_runs.stop_reason and shown by `vocwatch sources`."""

    COMPLETED = "completed"  # every start URL and every next page was fetched
    CAUGHT_UP = "caught_up"  # reached items stored by an earlier run (incremental stop)
    LOOKBACK_REACHED = "lookback_reached"  # reached items older than the lookback (first runs)
    CAP_REACHED = "cap_reached"  # the page budget ran out: the source has more than we fetched
    NOT_MODIFIED = "not_modified"  # every feed answered 304 to a conditional GET
    BLOCKED = "blocked"  # 403/451 or a captcha wall: no page could be read
    AUTH_FAILED = "auth_failed"  # 401: credentials are missing or wrong
    RATE_LIMITED = "rate_limited"  # 429 still there after the retries
    UNREACHABLE = "unreachable"  # DNS, connection refused, timeouts: no response at all
    HTTP_ERROR = "http_error"  # other 4xx/5xx answers, no page read
    UNREADABLE = "unreadable"  # pages arrived but none could be parsed (not a feed, broken markup)
    SHUTDOWN = "shutdown"  # stopped by a signal (SIGTERM/SIGINT); what was stored is kept
    SHARED = "shared"  # a shared-frontier worker whose round's pages were all taken by other workers
    ERROR = "error"  # the crawl itself failed (a bug, the database); see crawl_runs.error


class CrawlStatus(enum.StrEnum):
    """Mirror of storage's CrawlRunStatus (ok/failed) so that this module stays free of storage."""

    OK = "ok"
    FAILED = "failed"


# The order in which a crawl's own stop reasons are reported when its start URLs ended differently:
# a truncated crawl must be visible even if another feed of the same source was merely caught up.
SPIDER_REASON_ORDER = (
    StopReason.CAP_REACHED,
    StopReason.LOOKBACK_REACHED,
    StopReason.CAUGHT_UP,
    StopReason.COMPLETED,
)


@attrs.frozen
class CrawlOutcome:
    status: CrawlStatus
    stop_reason: StopReason
    error: str | None = None


def decide_outcome(
    *,
    close_reason: str,
    spider_reason: StopReason | None,
    pages: int,
    pages_failed: int,
    pages_not_modified: int,
    status_counts: Mapping[str, int],
    exception_counts: Mapping[str, int],
    store_errors: int = 0,
    robots_forbidden: int = 0,
    shared_frontier: bool = False,
) -> CrawlOutcome:
    """Turn what Scrapy and the spider observed into one status + stop reason + error line.

    `pages` counts responses handed to the spider (2xx and 304), `status_counts` every HTTP response by
    status (robots.txt excluded), `exception_counts` download errors by exception class name. A
    `closespider_*` close (a time or page limit from settings) counts as a cap. A worker of a shared
    frontier (crawlers.scaleout) that made no request at all is not a dark source: the other workers of
    its round fetched every page.
    """
    if close_reason == "shutdown":
        return CrawlOutcome(CrawlStatus.FAILED, StopReason.SHUTDOWN, "stopped by a signal before the end")
    if close_reason == PARENT_GONE_REASON:
        return CrawlOutcome(
            CrawlStatus.FAILED, StopReason.SHUTDOWN, "stopped: the process that started it is gone"
        )
    if close_reason.startswith("closespider_"):
        spider_reason = StopReason.CAP_REACHED
    elif close_reason != "finished":
        return CrawlOutcome(CrawlStatus.FAILED, StopReason.ERROR, f"crawl closed: {close_reason}")
    if spider_reason is StopReason.AUTH_FAILED:  # a login refused: nothing it guarded was read
        refused = ", ".join(f"HTTP {c}×{n}" for c, n in sorted(status_counts.items()) if c.startswith("4"))
        return CrawlOutcome(CrawlStatus.FAILED, StopReason.AUTH_FAILED, f"credentials refused: {refused}")
    if store_errors:
        return CrawlOutcome(
            CrawlStatus.FAILED,
            spider_reason or StopReason.ERROR,
            f"{store_errors} item(s) could not be stored",
        )
    if pages == 0:
        if shared_frontier and not status_counts and not exception_counts and not robots_forbidden:
            return CrawlOutcome(CrawlStatus.OK, StopReason.SHARED)
        if robots_forbidden and not status_counts and not exception_counts:
            return CrawlOutcome(
                CrawlStatus.FAILED,
                StopReason.BLOCKED,
                f"no page fetched: {robots_forbidden} forbidden by robots.txt",
            )
        return _nothing_fetched(status_counts, exception_counts)
    if pages_not_modified == pages:
        return CrawlOutcome(CrawlStatus.OK, StopReason.NOT_MODIFIED)
    if pages_failed == pages - pages_not_modified:
        return CrawlOutcome(
            CrawlStatus.FAILED, StopReason.UNREADABLE, f"{pages_failed} page(s) could not be parsed"
        )
    return CrawlOutcome(CrawlStatus.OK, spider_reason or StopReason.COMPLETED)


def _nothing_fetched(status_counts: Mapping[str, int], exception_counts: Mapping[str, int]) -> CrawlOutcome:
    statuses = {int(code): n for code, n in status_counts.items() if code.isdigit()}
    errors = [f"HTTP {code}×{n}" for code, n in sorted(statuses.items())]
    errors += [f"{name}×{n}" for name, n in sorted(exception_counts.items())]
    error = "no page fetched: " + (", ".join(errors) if errors else "no request was made")
    if statuses.keys() & {401, 407}:
        reason = StopReason.AUTH_FAILED
    elif statuses.keys() & {403, 451}:
        reason = StopReason.BLOCKED
    elif 429 in statuses:
        reason = StopReason.RATE_LIMITED
    elif statuses:
        reason = StopReason.HTTP_ERROR
    else:
        reason = StopReason.UNREACHABLE
    return CrawlOutcome(CrawlStatus.FAILED, reason, error)
