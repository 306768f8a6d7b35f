"""How the CLI reports an error: one line saying what went wrong, one line saying what to do about it.

`main` catches `REPORTED` (each package's base error, drawn in `vocwatch.errors`, plus SQLAlchemy's
`OperationalError` for a database that is down or locked) and prints `report(error)`; anything else is a
bug and keeps its traceback. The packages below the composition root cannot name vocwatch's settings or
commands, so the fix for each of their errors is written here; an error class without an entry of its
own gets the fix of its nearest base.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from crawlers.errors import CrawlError, FeedError, RunSpecError, SourceNotFoundError, UnknownKindError
from notifier.errors import MissingScopesError, NotifierError, WeekFormatError
from sentiment.errors import ModelFormatError, ModelNotFoundError, SentimentError, TrainSplitError
from storage.engine import describe_error, is_transient_error
from storage.errors import (
    CaseActionError,
    LastAdminError,
    MigrationError,
    NaiveDatetimeError,
    StorageError,
    UnknownTouchpointError,
    UnsupportedDatabaseError,
    UserExistsError,
)
from vocwatch.errors import VocwatchError

__all__ = ["PACKAGE_ERRORS", "REPORTED", "Report", "report"]

PACKAGE_ERRORS: tuple[type[Exception], ...] = (
    CrawlError,
    NotifierError,
    SentimentError,
    StorageError,
    VocwatchError,
)
"""The base error of each vocwatch package: every error a package raises on purpose is one of these."""
REPORTED: tuple[type[Exception], ...] = (*PACKAGE_ERRORS, OperationalError)

_DEBUG = "rerun with --debug to see where it failed"
_FIXES: dict[type[Exception], str] = {
    CrawlError: f"check the source's table in the config, or {_DEBUG}",
    RunSpecError: "check the source's table ([sources.NAME]) in the config",
    UnknownKindError: "set the source's kind to one of the kinds the message lists",
    SourceNotFoundError: "start crawls with `vocwatch crawl`, which writes the configured sources first",
    FeedError: "check the source's URL: it must serve an RSS or Atom feed",
    NotifierError: _DEBUG,
    WeekFormatError: "pass --week like 2026-W47",
    MissingScopesError: "add the scopes to the Slack app (OAuth & Permissions → Bot Token Scopes) and "
    "reinstall it, or set slack.reconcile = false; `vocwatch check` lists what this config needs",
    SentimentError: _DEBUG,
    ModelNotFoundError: "run `vocwatch model prepare`, or set [model] dir and heads_dir to a complete model",
    ModelFormatError: "run `vocwatch model prepare` again, or retrain the heads with this version",
    TrainSplitError: "pass --data-dir pointing at the full labelled sets (e.g. ../shared/data)",
    StorageError: f"check the database in database_url, or {_DEBUG}",
    NaiveDatetimeError: "this is a bug: rerun with --debug and report the traceback",
    UnknownTouchpointError: "add the touchpoint to [touchpoints] in the config, or correct its name",
    UnsupportedDatabaseError: "set database_url to a sqlite:/// or postgresql+psycopg:// URL",
    MigrationError: "restore the database from its backup and report the migration that failed",
    UserExistsError: "pick another name",
    LastAdminError: "make another account admin first",
    CaseActionError: "pick one of the choices the case page offers",
}


@dataclass(frozen=True)
class Report:
    """What the operator reads: `error` says what went wrong, `fix` what to do next; one line each."""

    error: str
    fix: str


def report(error: Exception) -> Report:
    """The two lines the CLI prints for one of the `REPORTED` errors.

    A `VocwatchError` brings its own fix (it is raised where the operator's settings are known); any
    message is folded onto one line, so that a multi-line driver or validation message cannot break the
    "one line plus the fix" shape that scripts and people read.
    """
    if isinstance(error, VocwatchError):
        return _one_line(error.message, error.fix or _DEBUG)
    if isinstance(error, OperationalError):
        locked = is_transient_error(error) and "sqlite" in type(error.orig).__module__
        fix = (
            "another process holds the SQLite write lock: retry (database_url ?timeout=SECONDS sets the wait)"
            if locked
            else "check that the database in database_url is running and reachable, then retry"
        )
        return _one_line(f"database unavailable: {describe_error(error)}", fix)
    fix = next((_FIXES[kind] for kind in type(error).__mro__ if kind in _FIXES), _DEBUG)
    return _one_line(str(error) or type(error).__name__, fix)


def _one_line(error: str, fix: str) -> Report:
    return Report(" ".join(error.split()), " ".join(fix.split()))
