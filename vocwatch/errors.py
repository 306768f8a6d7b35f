"""The one error type the CLI turns into a single line plus a fix, instead of a traceback."""

from __future__ import annotations


class VocwatchError(Exception):
    """A failure the operator can act on: what went wrong, and what to do about it."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if self.fix is None else f"{self.message} — {self.fix}"
