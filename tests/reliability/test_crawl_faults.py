"""Network faults on the crawl side (issue 10, point 2): a crawl ends, counts what failed, loses nothing.

One source with one feed per fault, plus a healthy feed, crawled by the real crawl process
(`python -m crawlers`) from a FaultServer. The faulty feeds stall, reset, answer 429/500/503, truncate,
send a captive-portal page, a body past DOWNLOAD_MAXSIZE (declared or not), or redirect forever. The crawl
must end (bounded by timeouts and retries), store what the healthy and the recovering feeds hold, and
leave a crawl_run that says what went wrong. A second crawl after the network heals stores the rest,
each item once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage import CrawlRunStatus
from tests.support.crawling import CrawlDb, make_crawl_db, run_crawl, runspec
from tests.support.faults import Fault, FaultKind, FaultServer
from tests.support.feeds import atom_page, entry_id

PER_FEED = 3
# feed name -> (fault, times it is injected; None: every request)
FAULTS: dict[str, tuple[Fault, int | None]] = {
    "stall": (Fault(FaultKind.STALL, stall_s=10), None),
    "reset": (Fault(FaultKind.RESET), None),
    "rate-limited-once": (Fault(FaultKind.STATUS, status=429, retry_after="1"), 1),
    "error-500-once": (Fault(FaultKind.STATUS, status=500), 1),
    "unavailable-503": (Fault(FaultKind.STATUS, status=503), None),
    "truncated": (Fault(FaultKind.TRUNCATED), None),
    "captive-portal": (Fault(FaultKind.WRONG_TYPE), None),
    "huge-declared": (Fault(FaultKind.HUGE, size=40 * 1024 * 1024), None),
    "huge-streamed": (Fault(FaultKind.HUGE, size=40 * 1024 * 1024, declare_length=False), None),
    "redirect-loop": (Fault(FaultKind.REDIRECT_LOOP), None),
}
RECOVERING = {"rate-limited-once", "error-500-once"}
FEEDS = ["healthy", *FAULTS]


@pytest.fixture
def db(migrated_sqlite_url: str) -> Iterator[CrawlDb]:
    crawl_db = make_crawl_db(migrated_sqlite_url)
    yield crawl_db
    crawl_db.engine.dispose()


def ids(feeds: set[str] | list[str]) -> set[str]:
    return {entry_id(feed, n) for feed in feeds for n in range(1, PER_FEED + 1)}


def test_a_crawl_meeting_every_network_fault_ends_counts_them_and_loses_nothing(db: CrawlDb) -> None:
    with FaultServer() as site:
        for feed in FEEDS:
            site.serve(f"/{feed}.atom", atom_page(feed, range(PER_FEED, 0, -1)), "application/atom+xml")
        for feed, (fault, times) in FAULTS.items():
            site.inject(f"/{feed}.atom", fault, times=times)
        spec = runspec(
            db,
            [site.url(f"/{feed}.atom") for feed in FEEDS],
            download_timeout_s=2,
            retry_times=1,
            concurrency_per_domain=16,
        )

        first = run_crawl(spec)
        stored_after_faults = set(db.mentions())
        site.clear()
        second = run_crawl(spec)
        stored = db.mentions()

    assert first.summary is not None, first.stderr[-2000:]
    assert stored_after_faults == ids(["healthy", *RECOVERING])  # what could be read, was
    first_run, second_run = db.runs()
    assert first_run.status == CrawlRunStatus.OK and first_run.finished_at is not None
    counts = first_run.http_status_counts
    assert counts["429"] == 1 and counts["500"] == 1 and counts["503"] == 2  # 503: first try + 1 retry
    assert counts["302"] >= 10  # the loop was followed until Scrapy's redirect limit, then dropped
    # Download failures (stall, reset, truncation, oversize) leave their trace in the run's error line.
    # Download failures and unreadable pages leave their trace in the ok run's error line, each counted
    # (every fault met on the first try and its one retry).
    error = first_run.error or ""
    assert error.startswith("partial: "), error
    for fault, counted in [
        ("stall", "DownloadTimeoutError×2"),
        ("reset", "DownloadFailedError×2"),
        ("truncated", "ResponseDataLossError×2"),
        ("huge", "DownloadCancelledError×2"),  # both oversize bodies, refused at once: not retried
        ("captive-portal", "1 page(s) unparseable"),
        ("503", "HTTP 503×2"),
    ]:
        assert counted in error, (fault, error)
    assert (second_run.status, second.returncode) == (CrawlRunStatus.OK, 0)
    assert set(stored) == ids(FEEDS) and len(stored) == len(FEEDS) * PER_FEED  # each item once
