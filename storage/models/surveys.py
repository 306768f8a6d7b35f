"""Imported NPS/CSAT/CES answers; the free-text comment of an answer is stored as a mention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, BigId
from storage.enums import SurveyMetric


class SurveyResponse(Base):
    """One score of one respondent; unique per (source, respondent, metric) so re-imports add nothing."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("source_id", "respondent_id", "metric"),
        # Per-touchpoint per-day NPS/CSAT/CES in the digest.
        Index("ix_survey_responses_touchpoint_id_answered_at", "touchpoint_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    respondent_id: Mapped[str] = mapped_column(String(255))
    metric: Mapped[SurveyMetric]
    score: Mapped[int]
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"))
    mention_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("mentions.id"))
    answered_at: Mapped[datetime]
