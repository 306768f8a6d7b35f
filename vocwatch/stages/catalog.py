"""The catalog stage: make the touchpoints, topics and sources tables match the config."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

import storage
from vocwatch.settings import Settings
from vocwatch.topics import effective_topics

__all__ = ["sync_catalog"]


def sync_catalog(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Make the touchpoints, topics and sources tables match the config (rows are never deleted)."""
    with sessions.begin() as session:
        storage.catalog.sync_touchpoints(
            session, [(name, tp.stage, tp.description) for name, tp in settings.touchpoints.items()]
        )
        storage.catalog.sync_topics(
            session,
            [(name, t.description, t.touchpoint) for name, t in effective_topics(settings).items()],
        )
        for name, source in settings.sources.items():
            storage.sources.upsert_source(
                session,
                name=name,
                kind=source.kind,
                config=source.model_dump(mode="json", exclude={"kind", "touchpoint"}),
                default_touchpoint=source.touchpoint,
            )
