"""The configured vocabulary: touchpoints (points of the customer journey) and topics (themes)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.enums import JourneyStage


class Touchpoint(Base):
    """A named point within a journey stage, e.g. "delivery" in `receive`; synced from the config."""

    __tablename__ = "touchpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    stage: Mapped[JourneyStage]
    description: Mapped[str] = mapped_column(default="")


class Topic(Base):
    """A theme of the taxonomy; `touchpoint_id` is the topic→touchpoint rule (NULL: no rule)."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(default="")
    touchpoint_id: Mapped[int | None] = mapped_column(ForeignKey("touchpoints.id"))
