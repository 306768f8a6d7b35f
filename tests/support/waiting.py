"""`wait_until`: the suite's one way to wait for something another thread or process does.

Tests never sleep a fixed time and hope: they poll a condition with a deadline, and the deadline is a
bound on a broken run, not a timing the test relies on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(condition: Callable[[], object], *, timeout_s: float, what: str, step_s: float = 0.05) -> None:
    """Poll `condition()` every `step_s` until it is true; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(step_s)
