"""Errors raised by the notifier package on purpose (Slack's own errors are handled where they occur).

NotifierError
└── WeekFormatError     a digest week that is not of the form YYYY-Www, or that the year lacks

Invalid arguments to the pure policy functions stay `ValueError`: they are bugs upstream, not something
an operator can fix. The notifier cannot name vocwatch's settings or commands, so the fix the operator
is shown for each of these is written where they are reported (`vocwatch.cli.errors`).
"""

from __future__ import annotations

__all__ = ["NotifierError", "WeekFormatError"]


class NotifierError(Exception):
    """Base of the errors the notifier raises on purpose, so callers can catch them as one kind."""


class WeekFormatError(NotifierError, ValueError):
    """The text names no ISO week. A `ValueError` too: the digest stage turns any bad week into its fix."""
