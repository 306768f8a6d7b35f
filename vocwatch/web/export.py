"""Corrected labels as JSONL for retraining: one line per corrected case (`vocwatch export` writes the same).

Each line has `text` and `label` when the sentiment was corrected (the format `vocwatch eval` and
`vocwatch train` read), plus the corrected `topics` and `touchpoint` and where the line came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from storage.corrections import CorrectionRow, list_corrections
from storage.users import UserRow
from vocwatch.web.security import require_agent, sessions_of

__all__ = ["correction_lines", "router"]

router = APIRouter()


def correction_lines(rows: Iterable[CorrectionRow]) -> Iterator[str]:
    """One JSON object per line (UTF-8, not ASCII-escaped: Chinese text stays readable)."""
    for row in rows:
        record = {
            "text": row.text,
            "label": row.label,
            "topics": row.topics,
            "touchpoint": row.touchpoint,
            "case_id": row.case_id,
            "corrected_at": row.corrected_at.isoformat(),
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"


@router.get("/export/corrections.jsonl")
def export_corrections(
    request: Request, user: Annotated[UserRow, Depends(require_agent)]
) -> StreamingResponse:
    with sessions_of(request).begin() as session:
        rows = list_corrections(session)
    return StreamingResponse(
        correction_lines(rows),
        media_type="application/x-ndjson; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="corrections.jsonl"'},
    )
