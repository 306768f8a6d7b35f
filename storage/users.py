"""Review-UI accounts: create them, look them up, and keep the failed-login counters that throttle guessing.

Only password *hashes* reach this module (the web package hashes with argon2); the lockout policy (how
many failures, how long) is the caller's, passed in as plain values.

`session_epoch` revokes logins: the web UI's signed session cookie carries the epoch it was issued under
and is accepted only while the account's epoch is unchanged, so bumping it (logout, a new password, a new
role) ends every session of that account at once, including stolen copies of its cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.enums import UserRole
from storage.errors import LastAdminError, UserExistsError
from storage.models import User

__all__ = [
    "UserRow",
    "as_row",
    "create_user",
    "end_sessions",
    "find_user",
    "get_user",
    "list_users",
    "record_failed_login",
    "record_login",
    "set_password_hash",
    "set_role",
]


@dataclass(frozen=True)
class UserRow:
    """An account as plain values; never carries the password hash out of storage by accident."""

    id: int
    username: str
    role: UserRole
    session_epoch: int
    """Sessions issued under another epoch are no longer valid (see the module docstring)."""


def as_row(user: User) -> UserRow:
    """The plain-value view of an account row (without its hash and lockout state)."""
    return UserRow(id=user.id, username=user.username, role=user.role, session_epoch=user.session_epoch)


def create_user(
    session: Session, *, username: str, password_hash: str, role: UserRole, now: datetime
) -> UserRow:
    """Add an account; raises UserExistsError when the name is taken."""
    if find_user(session, username) is not None:
        raise UserExistsError(f"user {username!r} exists already")
    user = User(
        username=username,
        password_hash=password_hash,
        role=role,
        created_at=now,
        failed_logins=0,
        session_epoch=0,
    )
    session.add(user)
    session.flush()
    return as_row(user)


def find_user(session: Session, username: str) -> User | None:
    """The account row (with its hash and lockout state) for a login attempt."""
    return session.scalars(select(User).where(User.username == username)).first()


def get_user(session: Session, user_id: int) -> UserRow | None:
    user = session.get(User, user_id)
    return as_row(user) if user is not None else None


def list_users(session: Session) -> list[UserRow]:
    return [as_row(user) for user in session.scalars(select(User).order_by(User.username))]


def set_role(session: Session, user_id: int, role: UserRole) -> bool:
    """Change an account's role and end its sessions (it logs in again under the new role); False when
    there is no such user. Setting the role it already has changes nothing.

    Raises LastAdminError instead of demoting the only admin. The admins' rows are locked first (on
    SQLite the transaction's write lock does it), so two admins demoting each other at the same moment
    cannot both succeed.
    """
    admins = set(session.scalars(select(User.id).where(User.role == UserRole.ADMIN).with_for_update()))
    user = session.get(User, user_id)
    if user is None:
        return False
    if user.role != role:
        if admins == {user.id}:
            raise LastAdminError(f"{user.username} is the only admin")
        user.role = role
        _bump_session_epoch(session, user.id)
    return True


def set_password_hash(session: Session, user_id: int, password_hash: str, *, end_sessions: bool) -> None:
    """Store a new hash. A new password (`end_sessions=True`) ends every session of the account; upgrading
    the hash of the same password to current parameters at login (`end_sessions=False`) does not."""
    user = session.get(User, user_id)
    if user is not None:
        user.password_hash = password_hash
        if end_sessions:
            _bump_session_epoch(session, user_id)


def end_sessions(session: Session, user_id: int) -> None:
    """Invalidate every session cookie issued to the account so far (logout)."""
    _bump_session_epoch(session, user_id)


def _bump_session_epoch(session: Session, user_id: int) -> None:
    """The one way the epoch moves on (logout, new password, new role): incremented in the database, so
    two concurrent changes both count and neither undoes the other."""
    session.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))


def record_failed_login(
    session: Session,
    user: User,
    *,
    now: datetime,
    free_attempts: int,
    base_lock: timedelta,
    max_lock: timedelta,
) -> datetime | None:
    """Count a wrong password; after `free_attempts` failures each further one locks the account for
    `base_lock` × 2^(extra failures − 1), capped at `max_lock` (exponential backoff). Returns the lock's end.
    """
    user.failed_logins += 1
    extra = user.failed_logins - free_attempts
    if extra <= 0:
        return None
    lock = min(base_lock * (2 ** min(extra - 1, 20)), max_lock)
    user.locked_until = now + lock
    return user.locked_until


def record_login(session: Session, user: User) -> None:
    """A successful login clears the failure counter and any lock."""
    user.failed_logins = 0
    user.locked_until = None
