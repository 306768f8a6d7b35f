"""Configured sources: synced from the config, read by the scheduler and the crawlers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage._dialect import insert_for
from storage.catalog import get_touchpoint_id
from storage.errors import UnknownTouchpointError
from storage.models import Source

__all__ = ["get_source", "list_sources", "set_cursor", "upsert_source"]


def upsert_source(
    session: Session,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    default_touchpoint: str | None,
    enabled: bool = True,
) -> Source:
    """Create the source or update its kind, config and default touchpoint; the cursor is left alone.

    Raises UnknownTouchpointError when `default_touchpoint` was not synced into the catalog.
    """
    touchpoint_id = None
    if default_touchpoint is not None:
        touchpoint_id = get_touchpoint_id(session, default_touchpoint)
        if touchpoint_id is None:
            raise UnknownTouchpointError(
                f"source {name!r}: unknown touchpoint {default_touchpoint!r}: add it to the touchpoints first"
            )
    stmt = insert_for(session, Source).values(
        name=name, kind=kind, config=config, default_touchpoint_id=touchpoint_id, enabled=enabled
    )
    source_id = session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Source.name],
            set_={
                "kind": stmt.excluded.kind,
                "config": stmt.excluded.config,
                "default_touchpoint_id": stmt.excluded.default_touchpoint_id,
                "enabled": stmt.excluded.enabled,
            },
        ).returning(Source.id)
    ).scalar_one()
    source = session.get(Source, source_id, populate_existing=True)
    assert source is not None
    return source


def get_source(session: Session, name: str) -> Source | None:
    return session.scalar(select(Source).where(Source.name == name))


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def set_cursor(session: Session, source_id: int, cursor: dict[str, Any]) -> None:
    """Replace the source's incremental-crawl cursor (replaced whole: JSON is not mutation-tracked)."""
    session.execute(update(Source).where(Source.id == source_id).values(cursor=cursor))
