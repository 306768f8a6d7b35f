"""Coverage-ledger verdicts from run values alone: ok, degraded, dark, and the volume baselines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vocwatch.stages.ledger import RunRecord, SourceStatus, assess_source, format_ago, format_versus

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def run(hours_ago: float, status: str = "ok", items: int = 0, stop: str | None = "completed") -> RunRecord:
    return RunRecord(
        started_at=NOW - timedelta(hours=hours_ago), status=status, items_new=items, stop_reason=stop
    )


def hourly_history(days: int, per_run: int) -> list[RunRecord]:
    """A source crawled every 6 hours for `days` days, each run bringing `per_run` items."""
    return [run(h, items=per_run) for h in range(1, days * 24, 6)]


def test_healthy_source_is_ok_with_its_usual_volume() -> None:
    health = assess_source(hourly_history(40, per_run=5), now=NOW)

    assert (health.status, health.reason) == (SourceStatus.OK, "ok")
    assert (health.items_24h, health.items_7d) == (20, 140)
    assert (health.usual_24h, health.usual_7d) == (20.0, 140.0)
    assert health.error_rate == 0.0
    assert health.last_success_at == NOW - timedelta(hours=1)
    assert health.last_stop_reason == "completed"


def test_never_crawled_source_is_dark() -> None:
    health = assess_source([], now=NOW)

    assert (health.status, health.reason, health.last_success_at) == (
        SourceStatus.DARK,
        "never crawled",
        None,
    )
    assert (health.usual_24h, health.error_rate) == (None, None)


def test_three_failures_in_a_row_make_a_source_dark() -> None:
    runs = [
        run(1, "failed", stop="unreachable"),
        run(2, "failed", stop="unreachable"),
        run(3, "failed", stop="unreachable"),
        run(4, items=7),
    ]

    health = assess_source(runs, now=NOW)

    assert (health.status, health.reason) == (SourceStatus.DARK, "last 3 run(s) failed: unreachable")
    assert health.last_success_at == NOW - timedelta(hours=4)
    assert health.error_rate == 0.75


def test_one_recent_failure_is_degraded() -> None:
    runs = [run(1, "failed", stop="blocked"), *hourly_history(10, per_run=2)]

    health = assess_source(runs, now=NOW)

    assert (health.status, health.reason) == (SourceStatus.DEGRADED, "last run failed: blocked")


def test_a_source_that_never_worked_is_dark_after_two_failures() -> None:
    assert assess_source([run(1, "failed"), run(2, "failed")], now=NOW).status is SourceStatus.DARK
    assert assess_source([run(1, "failed")], now=NOW).status is SourceStatus.DEGRADED


def test_silent_week_where_items_are_usual_is_dark_even_if_runs_succeed() -> None:
    quiet = [run(h, items=0) for h in range(1, 7 * 24, 6)]
    busy_before = [run(h, items=10) for h in range(7 * 24 + 1, 35 * 24, 6)]

    health = assess_source([*quiet, *busy_before], now=NOW)

    assert health.status is SourceStatus.DARK
    assert health.reason == "no new items for 7 days (usually 280 a week)"


def test_volume_drop_and_page_cap_are_degraded() -> None:
    dropped = [run(1, items=1), *[run(h, items=10) for h in range(25, 10 * 24, 6)]]
    capped = [run(1, items=5, stop="cap_reached"), *hourly_history(3, per_run=5)]

    assert assess_source(dropped, now=NOW).reason == "1 new items in 24 h, usually 40"
    assert assess_source(capped, now=NOW).reason == "last run hit its page cap: coverage truncated"


def test_error_rate_over_recent_runs() -> None:
    runs = [run(h, "failed" if h % 3 == 0 else "ok", items=3) for h in range(1, 11)]

    health = assess_source(runs, now=NOW)

    assert health.error_rate == pytest.approx(0.3)
    assert health.status is SourceStatus.OK  # 30 % is the limit, not over it
    flaky = [run(h, "failed" if h % 2 == 0 else "ok", items=3) for h in range(1, 11)]
    assert assess_source(flaky, now=NOW).reason == "50% of recent runs failed"


def test_running_runs_count_for_volume_but_not_for_the_verdict() -> None:
    health = assess_source([run(0.5, "running", items=4), run(2, items=1)], now=NOW)

    assert (health.status, health.items_24h, health.error_rate) == (SourceStatus.OK, 5, 0.0)
    assert health.last_run_at == NOW - timedelta(minutes=30)


def test_finished_runs_are_counted_so_a_first_crawl_still_running_is_not_judged() -> None:
    assert assess_source([run(0.1, status="running")], now=NOW).runs_finished == 0
    assert assess_source([run(0.1, status="running"), run(1, status="failed")], now=NOW).runs_finished == 1


def test_new_source_has_no_usual_volume_yet() -> None:
    health = assess_source([run(2, items=3)], now=NOW)

    assert (health.usual_24h, health.usual_7d) == (None, None)


def test_table_formatting() -> None:
    assert format_ago(None, NOW) == "never"
    assert format_ago(NOW - timedelta(hours=3, minutes=5), NOW) == "3 h ago"
    assert format_ago(NOW - timedelta(days=2), NOW) == "2 d ago"
    assert format_ago(NOW - timedelta(seconds=20), NOW) == "just now"
    assert (format_versus(12, None), format_versus(12, 30.0), format_versus(1, 2.5)) == (
        "12",
        "12 (30)",
        "1 (2.5)",
    )
