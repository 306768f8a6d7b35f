"""Imported survey answers: scores into survey_responses, comments into mentions (analysed like any other).

Both writes are insert-if-new, decided by the database (ON CONFLICT DO NOTHING on (source, respondent,
metric) and on (source, external_id)), so importing the same export twice inserts nothing the second
time, and two imports racing cannot double-count a score in the digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.enums import SurveyMetric, TouchpointOrigin
from storage.mentions import NewMention, insert_new_mentions
from storage.models import Mention, SurveyResponse

__all__ = ["NewSurveyAnswer", "SurveyInsertResult", "insert_survey_answers"]


@dataclass(frozen=True, kw_only=True)
class NewSurveyAnswer:
    """One respondent's answer as plain values; `comment` may be empty (then no mention is made)."""

    respondent_id: str
    scores: Mapping[SurveyMetric, int]
    comment: str
    answered_at: datetime
    touchpoint_id: int | None = None
    raw: str = ""


@dataclass(frozen=True)
class SurveyInsertResult:
    scores_new: int = 0
    scores_duplicate: int = 0
    mentions_new: list[int] = field(default_factory=list)
    mentions_duplicate: int = 0


def insert_survey_answers(
    session: Session, *, source_id: int, answers: Sequence[NewSurveyAnswer], collected_at: datetime
) -> SurveyInsertResult:
    """Insert the scores and comment mentions not stored yet; a score links to its comment's mention.

    A comment becomes a mention with external_id = respondent id and the answer's time as published_at,
    status `new`, so the analyzer picks it up; its touchpoint is the answer's (else the source default,
    filled in by the analysis stage).
    """
    with_comment = [a for a in answers if a.comment]
    mentions = insert_new_mentions(
        session,
        [
            NewMention(
                source_id=source_id,
                external_id=answer.respondent_id,
                url="",
                text=answer.comment,
                raw=answer.raw,
                published_at=answer.answered_at,
                collected_at=collected_at,
                touchpoint_id=answer.touchpoint_id,
                touchpoint_origin=(
                    TouchpointOrigin.ASSIGNED
                    if answer.touchpoint_id is not None
                    else TouchpointOrigin.DEFAULT
                ),
                rating=_rating(answer.scores),
            )
            for answer in with_comment
        ],
    )
    mention_ids = _mention_ids(session, source_id, [a.respondent_id for a in with_comment])
    scores_new = scores_duplicate = 0
    for answer in answers:
        for metric, score in answer.scores.items():
            stmt = (
                insert_for(session, SurveyResponse)
                .values(
                    source_id=source_id,
                    respondent_id=answer.respondent_id,
                    metric=metric,
                    score=score,
                    touchpoint_id=answer.touchpoint_id,
                    mention_id=mention_ids.get(answer.respondent_id),
                    answered_at=answer.answered_at,
                )
                .on_conflict_do_nothing(
                    index_elements=[
                        SurveyResponse.source_id,
                        SurveyResponse.respondent_id,
                        SurveyResponse.metric,
                    ]
                )
                .returning(SurveyResponse.id)
            )
            if session.execute(stmt).scalar_one_or_none() is None:
                scores_duplicate += 1
            else:
                scores_new += 1
    return SurveyInsertResult(
        scores_new=scores_new,
        scores_duplicate=scores_duplicate,
        mentions_new=mentions.new_ids,
        mentions_duplicate=mentions.duplicates,
    )


_SCALES = {SurveyMetric.NPS: (0, 10), SurveyMetric.CSAT: (1, 5), SurveyMetric.CES: (1, 7)}


def _rating(scores: Mapping[SurveyMetric, int]) -> float | None:
    """The comment's rating (0..1) for the alert policy: CSAT, else NPS. CES is left out: a high effort
    score is bad, so it does not read as a rating."""
    for metric in (SurveyMetric.CSAT, SurveyMetric.NPS):
        if metric in scores:
            low, high = _SCALES[metric]
            return round((scores[metric] - low) / (high - low), 6)
    return None


def _mention_ids(session: Session, source_id: int, respondent_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(respondent_ids), 500):  # well below the bound-parameter limits
        rows = session.execute(
            select(Mention.external_id, Mention.id).where(
                Mention.source_id == source_id, Mention.external_id.in_(respondent_ids[start : start + 500])
            )
        )
        found.update({external_id: mention_id for external_id, mention_id in rows})
    return found
