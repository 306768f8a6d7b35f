"""The FastAPI application: routers, session cookies, CSRF, security headers and error pages."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from storage.errors import CaseActionError
from vocwatch.web import admin, casework, dashboard, export, login, queue
from vocwatch.web.config import WebConfig
from vocwatch.web.errorpage import ErrorPageMiddleware
from vocwatch.web.headers import SecurityHeadersMiddleware
from vocwatch.web.rendering import render
from vocwatch.web.security import CsrfError, Forbidden, LoginRequired, current_user, verify_csrf

__all__ = ["SESSION_COOKIE", "create_app"]

SESSION_COOKIE = "vocwatch_session"


def create_app(config: WebConfig, sessions: sessionmaker[Session]) -> FastAPI:
    """The review UI over an already migrated database. No OpenAPI docs: this is an HTML app for staff."""
    app = FastAPI(
        title="vocwatch review",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(verify_csrf)],
    )
    app.state.config = config
    app.state.sessions = sessions
    for module in (login, queue, casework, dashboard, admin, export):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("vocwatch.web", "static")]), name="static")
    app.add_middleware(ErrorPageMiddleware)  # innermost: its 500 page still gets the security headers
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=config.session_max_age_s,
        same_site="lax",
        https_only=config.secure_cookies,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    _add_error_pages(app)
    return app


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/queue"
        return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, exc: Forbidden) -> HTMLResponse:
        return render(
            request,
            "error.html",
            user=current_user(request),
            message="Your role does not allow this.",
            status_code=403,
        )

    @app.exception_handler(CsrfError)
    def _csrf(request: Request, exc: CsrfError) -> HTMLResponse:
        message = "The form has expired or did not come from this site. Reload the page and try again."
        return render(request, "error.html", user=None, message=message, status_code=403)

    @app.exception_handler(CaseActionError)
    def _bad_action(request: Request, exc: CaseActionError) -> HTMLResponse:
        return render(request, "error.html", user=current_user(request), message=str(exc), status_code=400)


def _quote(target: str) -> str:
    return quote(target, safe="/")
