"""Hostile field values reach the database intact or cleaned, never as a poisoned batch.

The store pipeline writes mentions in batches of 50 in one transaction: a single value the database
refuses (a NUL byte, which PostgreSQL text cannot hold; a lone surrogate, which no UTF-8 codec encodes; a
count past the INTEGER column) would fail the whole batch, mark the run failed, and fail again on every
rerun — a poison pill. `to_new_mention` is the one mapping from items to rows, so it is checked on real
SQLite and PostgreSQL, and by property over arbitrary strings.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import given, settings
from sqlalchemy import select

import storage
from crawlers.extensions import SourceRecord
from crawlers.items import MentionItem
from crawlers.pipelines import to_new_mention
from storage import models
from tests.support.hostile import HOSTILE_STRINGS, hostile_text, storable_problems

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POISON = "a\x00b \ud800 <!channel> =cmd|' /C calc'!A0 \u202e"


def hostile_item(i: int, value: str) -> MentionItem:
    return MentionItem(
        source="s",
        external_id=f"id-{i}-{value}",
        url=f"https://forum.example/t/{i}",
        text=f"post {i}: {value}",
        raw=f'{{"body": "{value}"}}',
        title=value or None,
        author=value or None,
        lang="en",
        parent_external_id=value or None,
        thread_external_id=value or None,
    )


@settings(max_examples=200, deadline=None)
@given(value=hostile_text())
def test_every_mapped_string_is_storable(value: str) -> None:
    source = SourceRecord(id=1, name="s", touchpoint_id=None, cursor={})
    row = to_new_mention(hostile_item(0, value), source=source, collected_at=NOW)
    assert not storable_problems(dataclasses.asdict(row))


def test_a_batch_with_poisoned_values_is_stored_whole(db_url: str) -> None:
    engine = storage.make_engine(db_url)
    sessions = storage.make_session_factory(engine)
    try:
        with sessions.begin() as session:
            source = storage.sources.upsert_source(
                session, name="s", kind="rss", config={}, default_touchpoint=None
            )
            record = SourceRecord(id=source.id, name="s", touchpoint_id=None, cursor={})
        values = [POISON, *HOSTILE_STRINGS]
        rows = [
            to_new_mention(hostile_item(i, v), source=record, collected_at=NOW) for i, v in enumerate(values)
        ]
        with sessions.begin() as session:
            result = storage.mentions.insert_new_mentions(session, rows)
        assert len(result.new_ids) == len(values)
        with sessions() as session:
            stored = {m.external_id: m for m in session.scalars(select(models.Mention))}
        poisoned = stored[rows[0].external_id]
        # Only what the database cannot hold is changed: NUL dropped, the surrogate replaced.
        assert poisoned.author == "ab \ufffd <!channel> =cmd|' /C calc'!A0 \u202e"
        assert stored[rows[1].external_id].text == rows[1].text
    finally:
        engine.dispose()
