"""The dispatch stage: the alert outbox drained to Slack (`notifier.dispatcher.Dispatcher` does each post)."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.dispatcher import Dispatcher

__all__ = ["DispatchTotals", "dispatch_alerts"]


@dataclass(frozen=True)
class DispatchTotals:
    """`ambiguous`: alerts whose delivery is unknown and that are not re-sent (a review case instead)."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    ambiguous: int = 0


def dispatch_alerts(dispatcher: Dispatcher, *, batch_size: int = 50) -> DispatchTotals:
    """Reconcile alerts a crash left in `sending`, then post due alerts batch by batch until none is due.

    It stops early when a batch makes no progress (everything rate limited or failing), so a Slack
    outage never spins the loop: those alerts stay in the outbox with their next attempt time. Without
    the Slack scopes it needs, the dispatcher raises `MissingScopesError` before touching any alert.
    """
    ambiguous = dispatcher.reconcile_sending().ambiguous
    sent = retrying = failed = 0
    while True:
        result = dispatcher.dispatch_due(limit=batch_size)
        sent, failed = sent + result.sent, failed + result.failed
        retrying += result.retried + result.rate_limited
        ambiguous += result.ambiguous
        if result.claimed < batch_size or result.sent == 0:
            return DispatchTotals(sent=sent, retrying=retrying, failed=failed, ambiguous=ambiguous)
