"""Small row builders for the storage tests (tests/integration/storage), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from storage import catalog, sources
from storage.enums import JourneyStage
from storage.mentions import NewMention

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def make_source(session: Session, name: str = "brand-news", touchpoint: str | None = None) -> int:
    if touchpoint is not None:
        catalog.sync_touchpoints(session, [(touchpoint, JourneyStage.RECEIVE, "")])
    return sources.upsert_source(
        session, name=name, kind="rss", config={"url": "http://127.0.0.1/feed"}, default_touchpoint=touchpoint
    ).id


def new_mention(source_id: int, external_id: str, text: str | None = None, **fields: object) -> NewMention:
    values: dict[str, object] = {
        "source_id": source_id,
        "external_id": external_id,
        "url": f"http://127.0.0.1/{external_id}",
        "text": text if text is not None else f"text of {external_id}",
        "collected_at": T0 + timedelta(minutes=len(external_id)),
    }
    values.update(fields)
    return NewMention(**values)  # type: ignore[arg-type]
