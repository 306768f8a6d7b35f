from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.items import MentionItem, mention_problems


def item(**overrides: object) -> MentionItem:
    values: dict[str, object] = {
        "source": "s",
        "external_id": "1",
        "url": "https://a.example/1",
        "text": "hi",
    }
    return MentionItem(**(values | overrides))  # type: ignore[arg-type]


def test_a_complete_item_has_no_problems() -> None:
    assert mention_problems(item(published_at=datetime(2024, 3, 1, tzinfo=UTC), rating=0.8, likes=3)) == []


def test_an_item_without_a_url_is_still_storable() -> None:
    assert mention_problems(item(url="")) == []


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"external_id": ""}, "no id (no guid/id and no link)"),
        ({"external_id": "x" * 1025}, "id longer than 1024 characters"),
        ({"text": "  "}, "no text"),
        ({"url": "javascript:alert(1)"}, "not an http(s) URL: 'javascript:alert(1)'"),
        ({"published_at": datetime(2024, 3, 1)}, "published_at has no time zone"),
        ({"rating": 4.0}, "rating 4.0 outside 0..1"),
        ({"replies": -1}, "replies is negative"),
        ({"parent_external_id": "p" * 1025}, "parent_external_id longer than 1024 characters"),
    ],
)
def test_malformed_items_are_named(overrides: dict[str, object], problem: str) -> None:
    assert mention_problems(item(**overrides)) == [problem]


def test_something_else_than_a_mention_is_a_problem() -> None:
    assert mention_problems({"text": "x"}) == ["not a MentionItem: dict"]
