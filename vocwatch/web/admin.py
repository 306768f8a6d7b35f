"""Admin pages: accounts (add, change role). Sources are configured in the TOML file; the dashboard shows
their coverage, so there is no second place to edit them here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from storage import users
from storage.enums import UserRole
from storage.errors import LastAdminError, UserExistsError
from storage.users import UserRow
from vocwatch.web.config import WebConfig
from vocwatch.web.params import RowId
from vocwatch.web.passwords import hash_password
from vocwatch.web.rendering import render
from vocwatch.web.security import require_admin, sessions_of

__all__ = ["MIN_PASSWORD_LENGTH", "router"]

router = APIRouter()

MIN_PASSWORD_LENGTH = 10
_DONE = {"added": "User added.", "role": "Role changed."}


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: Annotated[UserRow, Depends(require_admin)]) -> HTMLResponse:
    # Our own words for our own redirects only: a crafted link cannot put its text on this page.
    return _page(request, user, message=_DONE.get(request.query_params.get("done", "")))


def _page(
    request: Request, user: UserRow, *, message: str | None = None, status_code: int = 200
) -> HTMLResponse:
    with sessions_of(request).begin() as session:
        accounts = users.list_users(session)
    return render(
        request,
        "users.html",
        user=user,
        accounts=accounts,
        roles=[role.value for role in UserRole],
        message=message,
        status_code=status_code,
    )


@router.post("/admin/users", response_model=None)
def add_user(
    request: Request,
    user: Annotated[UserRow, Depends(require_admin)],
    username: Annotated[str, Form(min_length=1, max_length=100)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[UserRole, Form()],
) -> Response:
    username = username.strip()
    if not username or any(ord(char) < 0x20 or ord(char) == 0x7F for char in username):
        # NUL would be a 500 on PostgreSQL; other control characters make names that look alike; a blank
        # name cannot be typed at the login form (it strips the name).
        message = "A username needs a visible character and no control characters."
        return _page(request, user, message=message, status_code=400)
    if len(password) < MIN_PASSWORD_LENGTH:
        return _page(
            request, user, message=f"Password too short (at least {MIN_PASSWORD_LENGTH}).", status_code=400
        )
    config: WebConfig = request.app.state.config
    try:
        with sessions_of(request).begin() as session:
            users.create_user(
                session,
                username=username,
                password_hash=hash_password(password),
                role=role,
                now=config.clock(),
            )
    except UserExistsError:
        return _page(request, user, message="That username is taken.", status_code=400)
    return RedirectResponse("/admin/users?done=added", status_code=303)


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request,
    user_id: RowId,
    user: Annotated[UserRow, Depends(require_admin)],
    role: Annotated[UserRole, Form()],
) -> Response:
    try:
        with sessions_of(request).begin() as session:
            users.set_role(session, user_id, role)
    except LastAdminError:
        message = "That is the only admin: make another account admin first."
        return _page(request, user, message=message, status_code=400)
    return RedirectResponse("/admin/users?done=role", status_code=303)
