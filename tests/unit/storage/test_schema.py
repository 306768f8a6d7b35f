"""The table definitions themselves: names, types and the indexes the hot queries rely on."""

from __future__ import annotations

import pytest
from sqlalchemy import Enum, Index, Table

import storage
from storage import models
from storage.base import Base
from storage.enums import AlertStatus, MentionStatus
from storage.errors import UnsupportedDatabaseError

CONTRACT_TABLES = {
    "sources",
    "crawl_runs",
    "touchpoints",
    "topics",
    "mentions",
    "analyses",
    "mention_topics",
    "alerts",
    "incidents",
    "cases",
    "case_events",
    "survey_responses",
    "users",
    "digests",
    "spike_episodes",
    "spike_keys",
}


def _index_columns(table: Table) -> dict[str, list[str]]:
    indexes: set[Index] = set(table.indexes)
    return {str(index.name): [column.name for column in index.columns] for index in indexes}


def test_every_contract_table_is_declared() -> None:
    assert set(Base.metadata.tables) == CONTRACT_TABLES


def test_public_names_are_exported_and_sorted() -> None:
    assert storage.__all__ == sorted(storage.__all__)
    assert models.__all__ == sorted(models.__all__)
    for name in storage.__all__:
        assert hasattr(storage, name), name


def test_mention_identity_constraint_has_its_conventional_name() -> None:
    names = {constraint.name for constraint in Base.metadata.tables["mentions"].constraints}
    assert "uq_mentions_source_id_external_id" in names


@pytest.mark.parametrize(
    ("table", "index", "columns"),
    [
        ("mentions", "ix_mentions_status_id", ["status", "id"]),
        ("mentions", "ix_mentions_content_hash", ["content_hash"]),
        ("mentions", "ix_mentions_touchpoint_id_published_at", ["touchpoint_id", "published_at"]),
        ("mentions", "ix_mentions_touchpoint_id_collected_at", ["touchpoint_id", "collected_at"]),
        ("alerts", "ix_alerts_status_next_attempt_at", ["status", "next_attempt_at"]),
        ("spike_episodes", "ix_spike_episodes_key_ended_at", ["key", "ended_at"]),
    ],
)
def test_hot_queries_have_indexes(table: str, index: str, columns: list[str]) -> None:
    assert _index_columns(Base.metadata.tables[table])[index] == columns


def test_statuses_are_stored_as_varchar_values() -> None:
    status_type = models.Alert.__table__.c.status.type
    assert isinstance(status_type, Enum)
    assert not status_type.native_enum
    assert status_type.enums == [s.value for s in AlertStatus]
    assert models.Mention.__table__.c.status.type.enums == [s.value for s in MentionStatus]  # type: ignore[attr-defined]


def test_unsupported_backend_is_refused_before_connecting() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="mysql"):
        storage.make_engine("mysql://localhost/vocwatch")
