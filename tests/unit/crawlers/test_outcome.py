from __future__ import annotations

from typing import Any

import pytest

from crawlers.outcome import CrawlOutcome, CrawlStatus, StopReason, decide_outcome


def outcome(**overrides: Any) -> CrawlOutcome:
    values: dict[str, Any] = {
        "close_reason": "finished",
        "spider_reason": None,
        "pages": 3,
        "pages_failed": 0,
        "pages_not_modified": 0,
        "status_counts": {"200": 3},
        "exception_counts": {},
    }
    return decide_outcome(**(values | overrides))


def test_a_normal_crawl_is_ok_and_completed() -> None:
    assert outcome() == CrawlOutcome(CrawlStatus.OK, StopReason.COMPLETED)


def test_the_spiders_reason_is_kept() -> None:
    assert outcome(spider_reason=StopReason.CAP_REACHED).stop_reason is StopReason.CAP_REACHED


def test_all_pages_not_modified_is_ok() -> None:
    result = outcome(pages_not_modified=3, status_counts={"304": 3})
    assert result == CrawlOutcome(CrawlStatus.OK, StopReason.NOT_MODIFIED)


@pytest.mark.parametrize(
    ("status_counts", "exceptions", "reason", "error"),
    [
        (
            {},
            {"ConnectionRefusedError": 2},
            StopReason.UNREACHABLE,
            "no page fetched: ConnectionRefusedError×2",
        ),
        ({"403": 1}, {}, StopReason.BLOCKED, "no page fetched: HTTP 403×1"),
        ({"401": 1}, {}, StopReason.AUTH_FAILED, "no page fetched: HTTP 401×1"),
        ({"429": 4}, {}, StopReason.RATE_LIMITED, "no page fetched: HTTP 429×4"),
        ({"404": 1, "500": 4}, {}, StopReason.HTTP_ERROR, "no page fetched: HTTP 404×1, HTTP 500×4"),
        ({}, {}, StopReason.UNREACHABLE, "no page fetched: no request was made"),
    ],
)
def test_nothing_fetched_is_a_failure_with_a_reason(
    status_counts: dict[str, int], exceptions: dict[str, int], reason: StopReason, error: str
) -> None:
    result = outcome(pages=0, status_counts=status_counts, exception_counts=exceptions)
    assert result == CrawlOutcome(CrawlStatus.FAILED, reason, error)


def test_robots_txt_forbidding_everything_is_blocked() -> None:
    result = outcome(pages=0, status_counts={}, robots_forbidden=2)
    assert result == CrawlOutcome(
        CrawlStatus.FAILED, StopReason.BLOCKED, "no page fetched: 2 forbidden by robots.txt"
    )


def test_pages_that_all_fail_to_parse_are_unreadable() -> None:
    result = outcome(pages=2, pages_failed=2)
    assert (result.status, result.stop_reason) == (CrawlStatus.FAILED, StopReason.UNREADABLE)


def test_one_unreadable_page_among_good_ones_is_still_ok() -> None:
    assert outcome(pages=3, pages_failed=1).status is CrawlStatus.OK


def test_store_errors_fail_the_run_so_the_cursor_does_not_advance() -> None:
    result = outcome(store_errors=5)
    assert result == CrawlOutcome(CrawlStatus.FAILED, StopReason.ERROR, "5 item(s) could not be stored")


def test_shutdown_by_signal_is_recorded_as_such() -> None:
    assert outcome(close_reason="shutdown").stop_reason is StopReason.SHUTDOWN


def test_closespider_limits_count_as_a_cap() -> None:
    result = outcome(close_reason="closespider_timeout")
    assert result == CrawlOutcome(CrawlStatus.OK, StopReason.CAP_REACHED)
