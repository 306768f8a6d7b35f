"""/login, /logout and /healthz: the only routes reachable without a session (besides static files)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from vocwatch.web.config import LockoutPolicy, WebConfig
from vocwatch.web.passwords import authenticate
from vocwatch.web.rendering import render
from vocwatch.web.security import log_in, log_out, sessions_of

__all__ = ["login_failed_message", "router"]

router = APIRouter()


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    """Liveness for load balancers; says nothing about the data."""
    return "ok"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/queue") -> HTMLResponse:
    return render(request, "login.html", user=None, next=_local(next), error=None)


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/queue",
) -> Response:
    config: WebConfig = request.app.state.config
    now = config.clock()
    with sessions_of(request).begin() as session:
        result = authenticate(session, username.strip(), password, config.lockout, now=now)
    if result.user is None:
        return render(
            request,
            "login.html",
            user=None,
            next=_local(next),
            error=login_failed_message(config.lockout),
            status_code=401,
        )
    log_in(request, result.user)
    return RedirectResponse(_local(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    log_out(request)
    return RedirectResponse("/login", status_code=303)


def login_failed_message(policy: LockoutPolicy) -> str:
    """The one answer to every failed login: wrong password, unknown name, or a locked account.

    Saying "locked, try again in 30 s" only for accounts that exist would tell a guesser which usernames
    are real, so the page states the policy instead of the account's state; the same words for everyone.
    """
    return (
        f"Wrong username or password. After {policy.free_attempts} failed attempts, logging in pauses for "
        f"{int(policy.base_lock.total_seconds())} s or longer (doubling with each further failure); "
        "wait, then try again."
    )


def _local(target: str) -> str:
    """Only same-site paths as the post-login destination: no open redirect to another host."""
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return "/queue"
    return target
