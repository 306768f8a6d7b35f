"""Per-channel ping budget: limits, the critical bypass, and the held-back note."""

from __future__ import annotations

import pytest

from notifier.budget import BudgetLimits, check_budget, held_back_note
from storage.enums import Severity

LIMITS = BudgetLimits(per_hour=3, per_day=5)


def test_within_budget_is_allowed() -> None:
    assert check_budget(Severity.WARNING, pings_last_hour=2, pings_last_day=4, limits=LIMITS).allowed


def test_hourly_limit_holds_back() -> None:
    verdict = check_budget(Severity.WARNING, pings_last_hour=3, pings_last_day=3, limits=LIMITS)
    assert not verdict.allowed
    assert verdict.reason == "budget: 3 pings per hour reached"


def test_daily_limit_holds_back() -> None:
    verdict = check_budget(Severity.INFO, pings_last_hour=0, pings_last_day=5, limits=LIMITS)
    assert (verdict.allowed, verdict.reason) == (False, "budget: 5 pings per day reached")


def test_critical_always_goes_out() -> None:
    assert check_budget(Severity.CRITICAL, pings_last_hour=99, pings_last_day=99, limits=LIMITS).allowed


def test_zero_means_unlimited() -> None:
    unlimited = BudgetLimits(per_hour=0, per_day=0)
    assert check_budget(Severity.INFO, pings_last_hour=10**6, pings_last_day=10**6, limits=unlimited).allowed


def test_negative_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        BudgetLimits(per_hour=-1)


@pytest.mark.parametrize(
    ("count", "note"),
    [
        (0, None),
        (1, "+1 lower-severity mention held back — see queue/digest"),
        (12, "+12 lower-severity mentions held back — see queue/digest"),
    ],
)
def test_held_back_note(count: int, note: str | None) -> None:
    assert held_back_note(count) == note
