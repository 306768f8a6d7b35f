"""vocwatch's own error, and the map of every error the packages raise on purpose.

Each package has one base error, and everything it raises on purpose derives from it; the packages below
the composition root cannot import `vocwatch`, so there are five bases rather than one:

    VocwatchError   vocwatch: config, wiring, stages, daemon, CLI; carries its own `fix`
    CrawlError      crawlers.errors: RunSpecError, UnknownKindError, SourceNotFoundError, FeedError
    NotifierError   notifier.errors: WeekFormatError, MissingScopesError
    SentimentError  sentiment.errors: ModelNotFoundError, ModelFormatError, TrainSplitError
    StorageError    storage.errors: NaiveDatetimeError, UnknownTouchpointError, UnsupportedDatabaseError,
                    MigrationError, UserExistsError, LastAdminError, CaseActionError

Each errors module draws its own tree. The CLI turns any of them into one line plus the fix
(`vocwatch.cli.errors`, which writes the fixes for the packages' errors). Invalid arguments stay
`ValueError`/`TypeError` (bugs keep their traceback), and the web UI's `LoginRequired`, `Forbidden` and
`CsrfError` are how a request is answered (a redirect, a 403 page), not errors an operator sees.
"""

from __future__ import annotations

__all__ = ["VocwatchError"]


class VocwatchError(Exception):
    """A failure the operator can act on: what went wrong, and what to do about it."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if self.fix is None else f"{self.message} — {self.fix}"
