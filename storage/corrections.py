"""CX corrections as ground truth: what staff say a flagged mention's sentiment, topics and touchpoint are.

Staff write them through `storage.cases.apply_action`; this module reads them back for the evaluation
(`vocwatch eval --from-corrections`), for retraining (`vocwatch train --with-corrections`) and for export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.mentions import analysis_text
from storage.models import Case, Mention, Touchpoint

__all__ = ["CorrectionRow", "list_corrections"]


@dataclass(frozen=True)
class CorrectionRow:
    """A corrected case: the text and what CX staff say its labels are (None: not corrected)."""

    case_id: int
    text: str
    label: str | None
    topics: list[str] | None
    touchpoint: str | None
    corrected_at: datetime


def list_corrections(session: Session) -> list[CorrectionRow]:
    """Every case with a correction, oldest correction first.

    The text is what the model read (`analysis_text`), so a correction scores the model on its own input.
    """
    stmt = (
        select(Case, Mention.text, Mention.title, Touchpoint.name)
        .join(Mention, Case.mention_id == Mention.id)
        .outerjoin(Touchpoint, Case.corrected_touchpoint_id == Touchpoint.id)
        .where(Case.corrected_at.is_not(None))
        .order_by(Case.corrected_at, Case.id)
    )
    return [
        CorrectionRow(
            case_id=case.id,
            text=analysis_text(title, text),
            label=case.corrected_label.value if case.corrected_label is not None else None,
            topics=list(case.corrected_topics) if case.corrected_topics is not None else None,
            touchpoint=touchpoint,
            corrected_at=case.corrected_at,
        )
        for case, text, title, touchpoint in session.execute(stmt)
        if case.corrected_at is not None
    ]
