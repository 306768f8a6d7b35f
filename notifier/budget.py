"""Per-channel ping budget: at most N new top-level Slack messages per hour and per day.

Why: a channel that pings 80 times a day gets muted, and then the one alert that matters is missed.
Only *pings* count — new top-level messages (an incident's first post, a standalone alert). Thread
replies and in-place updates of an incident's parent do not notify the channel, so they are free.

Critical alerts always go out (they still use up budget): a budget must never hide the story PR needs
to hear about. What is held back is not dropped: the caller stores it (outbox status `suppressed` with
the reason) and the next message that does go out carries "+N lower-severity mentions held back".

Pure: counts in, a verdict out; the counting queries live in `storage.incidents`.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.enums import Severity

__all__ = ["BudgetLimits", "BudgetVerdict", "check_budget", "held_back_note"]


@dataclass(frozen=True)
class BudgetLimits:
    """`per_hour` / `per_day`: pings per channel in the last 60 minutes / 24 hours; 0 means no limit."""

    per_hour: int = 10
    per_day: int = 50
    always_send: Severity = Severity.CRITICAL

    def __post_init__(self) -> None:
        if self.per_hour < 0 or self.per_day < 0:
            raise ValueError("budget limits must be ≥ 0 (0 = unlimited)")


@dataclass(frozen=True)
class BudgetVerdict:
    allowed: bool
    reason: str


def check_budget(
    severity: Severity, *, pings_last_hour: int, pings_last_day: int, limits: BudgetLimits
) -> BudgetVerdict:
    """May one more ping go to this channel now? Critical (`always_send`) alerts always may."""
    if severity == limits.always_send:
        return BudgetVerdict(True, f"{severity} alerts bypass the budget")
    if limits.per_hour and pings_last_hour >= limits.per_hour:
        return BudgetVerdict(False, f"budget: {limits.per_hour} pings per hour reached")
    if limits.per_day and pings_last_day >= limits.per_day:
        return BudgetVerdict(False, f"budget: {limits.per_day} pings per day reached")
    return BudgetVerdict(True, "within budget")


def held_back_note(count: int) -> str | None:
    """The line the next allowed message carries about what the budget held back (None for 0)."""
    if count <= 0:
        return None
    noun = "mention" if count == 1 else "mentions"
    return f"+{count} lower-severity {noun} held back — see queue/digest"
