"""The case page and its actions. Reading needs any role; every action needs an agent (or admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from storage import cases, users
from storage.cases import CASE_ACTIONS, DISMISS_REASONS, RESOLVE_REASONS, CaseAction
from storage.enums import CaseEventKind, SentimentLabel, UserRole
from storage.errors import CaseActionError
from storage.models import Topic, Touchpoint
from storage.users import UserRow
from vocwatch.web.config import WebConfig
from vocwatch.web.params import RowId, parse_id
from vocwatch.web.rendering import render
from vocwatch.web.security import require_agent, require_viewer, sessions_of
from vocwatch.web.slack_echo import echo_case_event, summarize

__all__ = ["router"]

router = APIRouter()


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: RowId, user: Annotated[UserRow, Depends(require_viewer)]
) -> HTMLResponse:
    with sessions_of(request).begin() as session:
        detail = cases.case_detail(session, case_id)
        touchpoints = list(session.scalars(select(Touchpoint.name).order_by(Touchpoint.name)))
        topics = list(session.scalars(select(Topic.name).order_by(Topic.name)))
        assignees = [row for row in users.list_users(session) if row.role != UserRole.VIEWER]
    if detail is None:
        return render(request, "error.html", user=user, message="No such case.", status_code=404)
    return render(
        request,
        "case.html",
        user=user,
        case=detail,
        touchpoints=touchpoints,
        topics=topics,
        assignees=assignees,
        labels=[label.value for label in SentimentLabel],
        resolve_reasons=RESOLVE_REASONS,
        dismiss_reasons=DISMISS_REASONS,
        summarize=summarize,
        # Only an action's name (our redirect after it): a crafted link cannot put its text on the page.
        done=done if (done := request.query_params.get("done")) in CASE_ACTIONS else None,
    )


@router.post("/cases/{case_id}/actions", response_model=None)
async def case_action(
    request: Request, case_id: RowId, user: Annotated[UserRow, Depends(require_agent)]
) -> Response:
    """One endpoint for all actions (the form's `action` field); Post/Redirect/Get back to the case."""
    form = await request.form()
    action = _parse_action(
        {key: value for key, value in form.multi_items() if isinstance(value, str) and key != "topics"},
        [value for value in form.getlist("topics") if isinstance(value, str)],
        user,
    )
    config: WebConfig = request.app.state.config
    now = config.clock()
    with sessions_of(request).begin() as session:
        event = cases.apply_action(session, case_id, action, user_id=user.id, now=now)
        detail = cases.case_detail(session, case_id)
        assert detail is not None  # apply_action raised otherwise
        echo_case_event(
            session,
            case_id=case_id,
            mention_id=detail.mention_id,
            event_id=event.id,
            kind=event.kind,
            detail=dict(event.detail),
            actor=user.username,
            review_base_url=config.review_base_url,
            now=now,
        )
    return RedirectResponse(f"/cases/{case_id}?done={action.kind}", status_code=303)


def _parse_action(fields: dict[str, str], topics: list[str], user: UserRow) -> CaseAction:
    if any("\x00" in value for value in (*fields.values(), *topics)):
        raise CaseActionError("the form contains a NUL character")  # PostgreSQL text cannot store it
    name = fields.get("action", "")
    if name not in CASE_ACTIONS:
        raise CaseActionError(f"unknown action {name!r}")
    kind = CaseEventKind(name)
    if kind == CaseEventKind.ASSIGN:
        target = fields.get("assignee", "")
        assignee_id = user.id if target == "me" else parse_id(target)
        return CaseAction(kind, assignee_id=assignee_id)
    if kind == CaseEventKind.NOTE:
        return CaseAction(kind, note=fields.get("note", ""))
    if kind in (CaseEventKind.RESOLVE, CaseEventKind.DISMISS):
        return CaseAction(kind, reason=fields.get("reason", ""))
    if kind == CaseEventKind.CORRECT:
        label = fields.get("label", "")
        return CaseAction(
            kind,
            label=SentimentLabel(label) if label in {member.value for member in SentimentLabel} else None,
            # The form always sends `topics_shown`, so "no box ticked" means "no topics", not "unchanged".
            topics=tuple(topics) if fields.get("topics_shown") == "1" else None,
            touchpoint=fields.get("touchpoint") or None,
        )
    return CaseAction(kind)
