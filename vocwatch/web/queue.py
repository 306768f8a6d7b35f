"""The queue page: flagged mentions as cases, filtered by the query string, most severe and oldest first."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import users
from storage.enums import CaseStatus, Severity
from storage.models import Source, Topic, Touchpoint
from storage.queue import ACTIVE_STATUSES, SEVERITY_ORDER, QueueFilter, list_queue, queue_languages
from storage.users import UserRow
from vocwatch.web.config import WebConfig
from vocwatch.web.params import parse_id
from vocwatch.web.rendering import render
from vocwatch.web.security import require_viewer, sessions_of

__all__ = ["router"]

router = APIRouter()

_STATUS_CHOICES = ("active", *(status.value for status in CaseStatus), "all")
_LANGUAGES_TTL_S = 60.0
_FILTER_FIELDS = ("status", "touchpoint", "topic", "source", "severity", "lang", "assignee", "since", "until")
_MAX_PAGE = 100_000
"""Beyond any real queue (the count stops at COUNT_CAP); keeps OFFSET within what databases accept."""


@router.get("/", dependencies=[Depends(require_viewer)])
def home() -> RedirectResponse:
    """Like every page but /login and /healthz, even this redirect needs a session: one rule, no list."""
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    user: Annotated[UserRow, Depends(require_viewer)],
    page: Annotated[int, Query(ge=1, le=_MAX_PAGE)] = 1,
) -> HTMLResponse:
    config: WebConfig = request.app.state.config
    params = {name: request.query_params.get(name, "").strip() for name in _FILTER_FIELDS}
    if any("\x00" in value for value in params.values()):
        # No stored name contains NUL (PostgreSQL text cannot), and PostgreSQL refuses it even as a query
        # parameter: say so instead of failing with a 500.
        message = "A filter contains a NUL character; no case can match it."
        return render(request, "error.html", user=user, message=message, status_code=400)
    filt = _filter(params, user)
    with sessions_of(request).begin() as session:
        result = list_queue(session, filt, page=page, per_page=config.page_size)
        choices = {
            "touchpoints": list(session.scalars(select(Touchpoint.name).order_by(Touchpoint.name))),
            "topics": list(session.scalars(select(Topic.name).order_by(Topic.name))),
            "sources": list(session.scalars(select(Source.name).order_by(Source.name))),
            "langs": _languages(request, session),
            "users": users.list_users(session),
        }
    active = {name: value for name, value in params.items() if value}
    return render(
        request,
        "queue.html",
        user=user,
        result=result,
        params=params,
        choices=choices,
        statuses=_STATUS_CHOICES,
        severities=tuple(SEVERITY_ORDER),
        page_url=lambda number: "/queue?" + urlencode({**active, "page": number}),
    )


def _languages(request: Request, session: Session) -> list[str]:
    """The language filter's choices, cached for a minute: finding them scans every flagged mention,
    and a language appears in the list a minute late at worst."""
    cached: tuple[float, list[str]] | None = getattr(request.app.state, "queue_languages", None)
    now = time.monotonic()
    if cached is None or now - cached[0] > _LANGUAGES_TTL_S:
        cached = (now, queue_languages(session))
        request.app.state.queue_languages = cached
    return cached[1]


def _filter(params: dict[str, str], user: UserRow) -> QueueFilter:
    """Query-string values to a filter; unknown or malformed values simply do not filter."""
    status = params["status"] or "active"
    statuses: tuple[CaseStatus, ...]
    if status == "all":
        statuses = ()
    elif status in {member.value for member in CaseStatus}:
        statuses = (CaseStatus(status),)
    else:
        statuses = ACTIVE_STATUSES
    assignee = params["assignee"]
    if assignee == "me":
        assignee_id: int | None = user.id
    elif assignee == "unassigned":
        assignee_id = 0
    else:
        assignee_id = parse_id(assignee)
    return QueueFilter(
        statuses=statuses,
        touchpoint=params["touchpoint"] or None,
        topic=params["topic"] or None,
        source=params["source"] or None,
        severity=Severity(params["severity"]) if params["severity"] in SEVERITY_ORDER else None,
        lang=params["lang"] or None,
        assignee_id=assignee_id,
        since=_date(params["since"]),
        # "Until 9999-12-31" is no upper bound at all, and its next day (the exclusive end) does not exist.
        until=until if (until := _date(params["until"])) != date.max else None,
    )


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
