"""Keep the touchpoints and topics tables in step with the configured taxonomy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.enums import JourneyStage
from storage.errors import UnknownTouchpointError
from storage.models import Topic, Touchpoint

__all__ = ["TopicRule", "get_touchpoint_id", "sync_topics", "sync_touchpoints", "topic_rules"]


@dataclass(frozen=True)
class TopicRule:
    """A stored topic's id and its topic→touchpoint rule (None: the topic names no touchpoint)."""

    topic_id: int
    touchpoint_id: int | None


def sync_touchpoints(session: Session, touchpoints: Sequence[tuple[str, JourneyStage, str]]) -> None:
    """Insert or update (name, stage, description) rows by name.

    Touchpoints missing from the config are kept: mentions, cases and history still point at them.
    """
    for name, stage, description in touchpoints:
        stmt = insert_for(session, Touchpoint).values(name=name, stage=stage, description=description)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Touchpoint.name],
                set_={"stage": stmt.excluded.stage, "description": stmt.excluded.description},
            )
        )


def sync_topics(session: Session, topics: Sequence[tuple[str, str, str | None]]) -> None:
    """Insert or update (name, description, touchpoint name or None) rows by name.

    Raises UnknownTouchpointError when a topic names a touchpoint that was not synced first.
    """
    for name, description, touchpoint in topics:
        touchpoint_id = _require_touchpoint_id(session, touchpoint) if touchpoint is not None else None
        stmt = insert_for(session, Topic).values(
            name=name, description=description, touchpoint_id=touchpoint_id
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Topic.name],
                set_={"description": stmt.excluded.description, "touchpoint_id": stmt.excluded.touchpoint_id},
            )
        )


def topic_rules(session: Session) -> dict[str, TopicRule]:
    """Every stored topic by name: what the analysis stage needs to turn topic names into rows."""
    rows = session.execute(select(Topic.name, Topic.id, Topic.touchpoint_id))
    return {name: TopicRule(topic_id, touchpoint_id) for name, topic_id, touchpoint_id in rows}


def get_touchpoint_id(session: Session, name: str) -> int | None:
    return session.scalar(select(Touchpoint.id).where(Touchpoint.name == name))


def _require_touchpoint_id(session: Session, name: str) -> int:
    touchpoint_id = get_touchpoint_id(session, name)
    if touchpoint_id is None:
        raise UnknownTouchpointError(f"unknown touchpoint {name!r}: add it to the touchpoints first")
    return touchpoint_id
