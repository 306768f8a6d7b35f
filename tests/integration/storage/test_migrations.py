"""The Alembic scripts produce exactly the models' schema, and go down to nothing and back up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import storage
from storage.base import Base


def schema_diffs(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


@pytest.fixture
def engine(db_url: str) -> Any:
    engine = storage.make_engine(db_url)
    yield engine
    engine.dispose()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert storage.current_revision(engine) == storage.head_revision()
    assert schema_diffs(engine) == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    storage.downgrade(engine, "base")
    assert storage.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}

    storage.upgrade(engine)
    assert storage.current_revision(engine) == storage.head_revision()
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    assert schema_diffs(engine) == []


def test_upgrade_at_head_changes_nothing(engine: Engine) -> None:
    storage.upgrade(engine)
    assert storage.current_revision(engine) == storage.head_revision()


def test_sqlite_foreign_keys_are_on_again_after_migrating(tmp_path: Any) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        storage.upgrade(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_app_store_ratings_move_to_the_scale_of_every_other_kind(engine: Engine) -> None:
    # Rows stored before the rescale: App Store 1 star as 0.2, 5 stars as 1.0; a review site's 1 star as 0.
    # (The schema at the revision before is the models' own: the rescale changes data only.)
    storage.downgrade(engine, "8b3d5f7a2c14")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with storage.make_session_factory(engine).begin() as session:
        store = storage.sources.upsert_source(
            session, name="app", kind="appstore", config={}, default_touchpoint=None
        )
        site = storage.sources.upsert_source(
            session, name="site", kind="reviews", config={}, default_touchpoint=None
        )
        rows = ((store.id, 0.2), (store.id, 1.0), (store.id, None), (site.id, 0.0))
        storage.mentions.insert_new_mentions(
            session,
            [
                storage.NewMention(
                    source_id=source, external_id=str(n), url="", text=f"t{n}", collected_at=at, rating=rating
                )
                for n, (source, rating) in enumerate(rows)
            ],
        )

    storage.upgrade(engine)

    with engine.connect() as connection:
        ratings = connection.execute(text("SELECT rating FROM mentions ORDER BY id")).scalars().all()
    assert ratings == [pytest.approx(0.0), pytest.approx(1.0), None, pytest.approx(0.0)]
