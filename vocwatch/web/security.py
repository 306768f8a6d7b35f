"""Who is asking, may they, and did the form come from us: sessions, roles and CSRF tokens.

The session cookie (Starlette's SessionMiddleware: signed with itsdangerous, HttpOnly, SameSite=Lax,
Secure unless configured otherwise) holds only the user id, the account's session epoch at login, the
login time and the CSRF token. The user and role are read from the database on every request, so a role
change or a removed account takes effect at once.

A signed cookie cannot be deleted from the server, and SessionMiddleware re-signs it on every response
(so its own expiry slides while it is used). Two checks make a login end when it should:
- the epoch: logout, a new password or a new role bump `users.session_epoch` (storage.users), and a cookie
  from an older epoch is refused, so a copied cookie stops working when its owner logs out (on every
  device: sessions are not tracked one by one);
- the login time: a session older than `session_max_age_s` is refused however actively it was used.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from storage import users
from storage.enums import UserRole
from storage.users import UserRow
from vocwatch.web.config import WebConfig

__all__ = [
    "CSRF_FIELD",
    "CsrfError",
    "Forbidden",
    "LoginRequired",
    "can",
    "csrf_token",
    "current_user",
    "log_in",
    "log_out",
    "require_admin",
    "require_agent",
    "require_viewer",
    "sessions_of",
    "verify_csrf",
]

CSRF_FIELD = "csrf_token"
_UID, _EPOCH, _LOGIN_AT = "uid", "epoch", "login_at"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RANK = {UserRole.VIEWER: 0, UserRole.AGENT: 1, UserRole.ADMIN: 2}


class LoginRequired(Exception):
    """No valid session: the app answers with a redirect to /login."""


class Forbidden(Exception):
    """Logged in, but the role does not allow this: the app answers 403."""


class CsrfError(Exception):
    """An unsafe request without the session's CSRF token: the app answers 403."""


def sessions_of(request: Request) -> sessionmaker[Session]:
    """The app's session factory (set by create_app); each request opens short transactions with it."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (also for the anonymous login form)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: every POST (or other unsafe method) must carry the session's token.

    Synchronizer-token pattern: the token lives in the signed session and in each form; a cross-site
    form cannot read it. Starlette caches the parsed form, so the endpoint reads the same body.
    """
    if request.method in _SAFE_METHODS:
        return
    expected = request.session.get(CSRF_FIELD)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not hmac.compare_digest(expected, sent):
        raise CsrfError


def log_in(request: Request, user: UserRow) -> None:
    """Start a fresh session (a new CSRF token too), so nothing from before the login carries over: a
    cookie planted or read before the login is not the logged-in one (session fixation)."""
    config: WebConfig = request.app.state.config
    request.session.clear()
    request.session[_UID] = user.id
    request.session[_EPOCH] = user.session_epoch
    request.session[_LOGIN_AT] = int(config.clock().timestamp())
    csrf_token(request)


def log_out(request: Request) -> None:
    """End this login and every other copy of its cookie (the account's epoch moves on)."""
    user = _session_user(request)
    if user is not None:
        with sessions_of(request).begin() as session:
            users.end_sessions(session, user.id)
    request.session.clear()


def current_user(request: Request) -> UserRow:
    """The logged-in user, read from the database; raises LoginRequired when there is none."""
    user = _session_user(request)
    if user is None:
        raise LoginRequired
    return user


def _session_user(request: Request) -> UserRow | None:
    """The account of a valid session, else None (and the cookie's content is dropped)."""
    uid, epoch, login_at = (request.session.get(key) for key in (_UID, _EPOCH, _LOGIN_AT))
    if not isinstance(uid, int) or not isinstance(epoch, int) or not isinstance(login_at, int):
        if uid is not None:
            request.session.clear()
        return None
    config: WebConfig = request.app.state.config
    if config.clock().timestamp() - login_at > config.session_max_age_s:
        request.session.clear()
        return None
    with sessions_of(request).begin() as session:
        user = users.get_user(session, uid)
    if user is None or user.session_epoch != epoch:
        request.session.clear()
        return None
    return user


def _require(request: Request, role: UserRole) -> UserRow:
    user = current_user(request)
    if _RANK[user.role] < _RANK[role]:
        raise Forbidden
    return user


def require_viewer(request: Request) -> UserRow:
    """Any logged-in user: viewers read everything."""
    return current_user(request)


def require_agent(request: Request) -> UserRow:
    """Agents and admins work cases."""
    return _require(request, UserRole.AGENT)


def require_admin(request: Request) -> UserRow:
    """Only admins manage users."""
    return _require(request, UserRole.ADMIN)


def can(user: UserRow, role: UserRole) -> bool:
    """For templates: show a control only when the server would allow it (the server checks anyway)."""
    return _RANK[user.role] >= _RANK[role]
