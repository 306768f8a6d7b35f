"""The CX review queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.enums import CaseStatus
from storage.models import Case, CaseEvent

__all__ = ["open_case"]


def open_case(session: Session, *, mention_id: int, reason: str, severity: str, now: datetime) -> int | None:
    """Flag a mention for review; returns the new case id, or None when the mention already has a case.

    The "opened" event starts the case's audit trail, so every later change has a predecessor.
    """
    stmt = (
        insert_for(session, Case)
        .values(
            mention_id=mention_id,
            status=CaseStatus.OPEN,
            reason=reason,
            severity=severity,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Case.mention_id])
        .returning(Case.id)
    )
    case_id = session.execute(stmt).scalar_one_or_none()
    if case_id is not None:
        session.add(
            CaseEvent(
                case_id=case_id,
                kind="opened",
                detail={"reason": reason, "severity": severity},
                created_at=now,
            )
        )
    return case_id
