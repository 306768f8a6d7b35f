"""Reflect a case action in Slack: a reply in the thread of the mention's alert, queued in the outbox.

The reply is written in the same transaction as the case event (outbox pattern), so an action is echoed
exactly once or not at all, and the dispatcher delivers it with the usual retries and crash recovery.
A mention that never reached Slack (held back by a budget, not yet sent) gets no echo: there is no
thread to reply in, and a new top-level message per click would be noise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from notifier import blocks
from storage import alerts
from storage.enums import AlertAction, AlertKind, CaseEventKind

__all__ = ["echo_case_event", "summarize"]

_PLAIN_WORDS: dict[CaseEventKind, str] = {
    CaseEventKind.ACKNOWLEDGE: "acknowledged",
    CaseEventKind.REOPEN: "reopened",
    CaseEventKind.NOTE: "added a note",
}


def summarize(kind: CaseEventKind, detail: dict[str, Any]) -> str:
    """Our own words for an event, as the history and Slack show it ("resolved (fixed)")."""
    if kind == CaseEventKind.ASSIGN:
        return f"assigned to {detail['assignee']}" if detail.get("assignee") else "unassigned"
    if kind in (CaseEventKind.RESOLVE, CaseEventKind.DISMISS):
        verb = "resolved" if kind == CaseEventKind.RESOLVE else "dismissed"
        return f"{verb} ({str(detail.get('reason', '')).replace('_', ' ')})"
    if kind == CaseEventKind.CORRECT:
        parts = []
        if "label" in detail:
            parts.append(f"sentiment → {detail['label']}")
        if "topics" in detail:
            parts.append("topics → " + (", ".join(detail["topics"]) or "none"))
        if "touchpoint" in detail:
            parts.append(f"touchpoint → {detail['touchpoint']}")
        return "corrected " + "; ".join(parts)
    if kind == CaseEventKind.OPENED:
        return f"flagged ({detail.get('reason', '')}, {detail.get('severity', '')})"
    return _PLAIN_WORDS[kind]


def echo_case_event(
    session: Session,
    *,
    case_id: int,
    mention_id: int,
    event_id: int,
    kind: CaseEventKind,
    detail: dict[str, Any],
    actor: str,
    review_base_url: str | None,
    now: datetime,
) -> int | None:
    """Queue the Slack reply for one case event; returns the outbox id, or None when there is no thread."""
    thread = alerts.slack_thread_for_mention(session, mention_id)
    if thread is None:
        return None
    card = blocks.CaseUpdateMessage(
        case_id=case_id,
        actor=actor,
        summary=summarize(kind, detail),
        note=detail.get("note"),
        case_url=blocks.case_url(review_base_url, case_id),
    )
    return alerts.enqueue_alert(
        session,
        kind=AlertKind.CASE_UPDATE,
        dedup_key=f"case-event:{event_id}",
        channel=thread.channel,
        text=blocks.build_case_update_fallback(card),
        blocks=blocks.build_case_update_blocks(card),
        mention_id=mention_id,
        incident_id=thread.incident_id,
        # In an incident thread a plain reply; under a standalone alert a `post` that the dispatcher turns
        # into a reply under that message (notifier.dispatcher module docstring).
        action=AlertAction.REPLY if thread.incident_id is not None else AlertAction.POST,
        now=now,
    )
