from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import catalog, sources
from storage.enums import JourneyStage
from storage.errors import UnknownTouchpointError
from storage.models import Topic, Touchpoint


def test_sync_touchpoints_inserts_then_updates_by_name(db_session: Session) -> None:
    catalog.sync_touchpoints(db_session, [("delivery", JourneyStage.RECEIVE, "parcels")])
    first_id = catalog.get_touchpoint_id(db_session, "delivery")
    catalog.sync_touchpoints(
        db_session,
        [("delivery", JourneyStage.RECEIVE, "parcels and couriers"), ("app", JourneyStage.USE, "")],
    )
    db_session.expire_all()

    rows = db_session.execute(
        select(Touchpoint.id, Touchpoint.name, Touchpoint.description).order_by(Touchpoint.name)
    )
    assert [tuple(r) for r in rows] == [
        (catalog.get_touchpoint_id(db_session, "app"), "app", ""),
        (first_id, "delivery", "parcels and couriers"),
    ]
    assert catalog.get_touchpoint_id(db_session, "nope") is None


def test_sync_topics_links_the_touchpoint(db_session: Session) -> None:
    catalog.sync_touchpoints(db_session, [("delivery", JourneyStage.RECEIVE, "")])
    catalog.sync_topics(
        db_session, [("late delivery", "parcel arrives late", "delivery"), ("price", "cost", None)]
    )
    catalog.sync_topics(db_session, [("price", "cost and fees", None)])
    db_session.expire_all()

    topics = {t.name: t for t in db_session.scalars(select(Topic))}
    assert topics["late delivery"].touchpoint_id == catalog.get_touchpoint_id(db_session, "delivery")
    assert (topics["price"].description, topics["price"].touchpoint_id) == ("cost and fees", None)


def test_topic_with_unknown_touchpoint_is_refused(db_session: Session) -> None:
    with pytest.raises(UnknownTouchpointError, match="'billing'"):
        catalog.sync_topics(db_session, [("refunds", "", "billing")])


def test_upsert_source_updates_config_and_keeps_the_cursor(db_session: Session) -> None:
    catalog.sync_touchpoints(
        db_session, [("delivery", JourneyStage.RECEIVE, ""), ("news", JourneyStage.DISCOVER, "")]
    )
    created = sources.upsert_source(
        db_session, name="feed", kind="rss", config={"urls": ["a"]}, default_touchpoint="delivery"
    )
    sources.set_cursor(db_session, created.id, {"last_id": "42"})
    updated = sources.upsert_source(
        db_session, name="feed", kind="rss", config={"urls": ["b"]}, default_touchpoint="news", enabled=False
    )

    assert updated.id == created.id
    assert updated.config == {"urls": ["b"]}
    assert updated.default_touchpoint is not None
    assert updated.default_touchpoint.name == "news"
    assert updated.cursor == {"last_id": "42"}
    assert updated.enabled is False
    assert updated.created_at.tzinfo is not None


def test_source_with_unknown_touchpoint_is_refused(db_session: Session) -> None:
    with pytest.raises(UnknownTouchpointError, match="'delivery'"):
        sources.upsert_source(db_session, name="feed", kind="rss", config={}, default_touchpoint="delivery")


def test_get_and_list_sources(db_session: Session) -> None:
    for name in ("zeta", "alpha"):
        sources.upsert_source(db_session, name=name, kind="rss", config={}, default_touchpoint=None)
    assert [s.name for s in sources.list_sources(db_session)] == ["alpha", "zeta"]
    found = sources.get_source(db_session, "zeta")
    assert found is not None
    assert found.kind == "rss"
    assert sources.get_source(db_session, "missing") is None
