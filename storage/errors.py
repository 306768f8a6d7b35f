"""Errors raised by storage itself (SQLAlchemy's own errors pass through unchanged).

StorageError
├── NaiveDatetimeError        a datetime without tzinfo reached a UTC column
├── UnknownTouchpointError    a touchpoint name that is not in the catalog
├── UnsupportedDatabaseError  a URL for a backend other than SQLite or PostgreSQL
├── MigrationError            a migration would leave the database inconsistent
├── UserExistsError           an account name that is taken
├── LastAdminError            a role change that would leave no admin
└── CaseActionError           a review-queue action that does not fit the case

Storage cannot name vocwatch's settings or commands, so the fix the operator is shown for each of these
is written where they are reported (`vocwatch.cli.errors`).
"""

from __future__ import annotations

__all__ = [
    "CaseActionError",
    "LastAdminError",
    "MigrationError",
    "NaiveDatetimeError",
    "StorageError",
    "UnknownTouchpointError",
    "UnsupportedDatabaseError",
    "UserExistsError",
]


class StorageError(Exception):
    """Base of the errors storage raises, so callers can catch storage problems as one kind."""


class NaiveDatetimeError(StorageError, ValueError):
    """Raised on write: a naive datetime is ambiguous (local time? UTC?), so it is refused, not guessed.

    SQLAlchemy wraps it in `sqlalchemy.exc.StatementError` (its `.orig` is this error).
    """


class UnknownTouchpointError(StorageError, LookupError):
    """A source or topic names a touchpoint that `catalog.sync_touchpoints` never created."""


class UnsupportedDatabaseError(StorageError, ValueError):
    """Only SQLite and PostgreSQL are supported: inserts rely on their ON CONFLICT dialects."""


class MigrationError(StorageError):
    """A migration would leave the database inconsistent; its transaction was rolled back."""


class UserExistsError(StorageError):
    """`users.create_user` refuses a taken name: usernames are how people log in, so they are unique."""


class LastAdminError(StorageError):
    """`users.set_role` refuses to demote the only admin: nobody could manage accounts afterwards."""


class CaseActionError(StorageError):
    """The action does not fit the case (unknown case, action, reason, topic, touchpoint or user).

    The review UI answers it with a 400 page that shows the message, so messages name what was wrong.
    """
