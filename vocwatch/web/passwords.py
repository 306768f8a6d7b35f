"""Password hashing (argon2id via argon2-cffi) and the login check with lockout and backoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from storage import users
from storage.users import UserRow
from vocwatch.web.config import LockoutPolicy

__all__ = ["LoginResult", "authenticate", "hash_password"]

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name costs as long as a wrong password
# and response times do not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("no such user")


def hash_password(password: str) -> str:
    """An argon2id hash with the library's current recommended parameters."""
    return _hasher.hash(password)


@dataclass(frozen=True)
class LoginResult:
    """`user` on success; otherwise `locked_until` says whether the account is (now) locked."""

    user: UserRow | None = None
    locked_until: datetime | None = None


def authenticate(
    session: Session, username: str, password: str, policy: LockoutPolicy, *, now: datetime
) -> LoginResult:
    """Check a login; counts failures and locks the account with exponential backoff (storage.users).

    While locked, even the right password is refused without being checked: guessing stays throttled.
    An unknown name and a locked account still cost one hash verification, like a wrong password, so the
    response time does not tell them apart either (the login page shows the same words for all three).
    """
    # No account name contains NUL, and PostgreSQL refuses it even as a query parameter (a 500 otherwise).
    user = users.find_user(session, username) if "\x00" not in username else None
    if user is None:
        _verify(_DUMMY_HASH, password)
        return LoginResult()
    if user.locked_until is not None and user.locked_until > now:
        _verify(_DUMMY_HASH, password)
        return LoginResult(locked_until=user.locked_until)
    if not _verify(user.password_hash, password):
        locked_until = users.record_failed_login(
            session,
            user,
            now=now,
            free_attempts=policy.free_attempts,
            base_lock=policy.base_lock,
            max_lock=policy.max_lock,
        )
        return LoginResult(locked_until=locked_until)
    if _hasher.check_needs_rehash(user.password_hash):
        users.set_password_hash(session, user.id, hash_password(password), end_sessions=False)
    users.record_login(session, user)
    return LoginResult(user=users.as_row(user))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
