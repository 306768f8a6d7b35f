"""Errors raised by the notifier package on purpose (Slack's own errors are handled where they occur).

NotifierError
├── WeekFormatError     a digest week that is not of the form YYYY-Www, or that the year lacks
└── MissingScopesError  the Slack token lacks scopes the dispatcher needs: it refuses to dispatch

Invalid arguments to the pure policy functions stay `ValueError`: they are bugs upstream, not something
an operator can fix. The notifier cannot name vocwatch's settings or commands, so the fix the operator
is shown for each of these is written where they are reported (`vocwatch.cli.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MissingScopesError", "NotifierError", "WeekFormatError"]


class NotifierError(Exception):
    """Base of the errors the notifier raises on purpose, so callers can catch them as one kind."""


class WeekFormatError(NotifierError, ValueError):
    """The text names no ISO week. A `ValueError` too: the digest stage turns any bad week into its fix."""


class MissingScopesError(NotifierError):
    """The Slack token lacks OAuth scopes that delivering alerts exactly once needs (`missing`).

    Raised by the dispatcher before it claims anything, so the alerts stay queued until the scopes are
    granted (or the composition root stops asking for them).
    """

    def __init__(self, message: str, *, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)
