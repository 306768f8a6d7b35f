"""The Alembic scripts produce exactly the models' schema, and go down to nothing and back up."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

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
