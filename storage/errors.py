"""Errors raised by storage itself (SQLAlchemy's own errors pass through unchanged).

StorageError
├── NaiveDatetimeError      a datetime without tzinfo reached a UTC column
├── UnknownTouchpointError  a touchpoint name that is not in the catalog
├── UnsupportedDatabaseError  a URL for a backend other than SQLite or PostgreSQL
└── MigrationError          a migration would leave the database inconsistent
"""

from __future__ import annotations

__all__ = [
    "MigrationError",
    "NaiveDatetimeError",
    "StorageError",
    "UnknownTouchpointError",
    "UnsupportedDatabaseError",
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
