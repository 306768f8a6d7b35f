"""`to_new_mention`, the one mapping from MentionItem to storage: reply ids and author privacy."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from crawlers.extensions import SourceRecord
from crawlers.items import MentionItem
from crawlers.pipelines import to_new_mention
from crawlers.privacy import AuthorPolicy, AuthorPrivacy

SOURCE = SourceRecord(id=7, name="acme", touchpoint_id=3, cursor={})
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KEY = b"per-installation-secret"


def item(author: str | None = "kettle_owner") -> MentionItem:
    return MentionItem(
        source="acme",
        external_id="t1_kc2",
        url="https://www.reddit.com/comments/1abcde/_/kc2/",
        text="DM us your order number.",
        raw='{"author": "kettle_owner"}',
        author=author,
        parent_external_id="t1_kc1",
        thread_external_id="t3_1abcde",
    )


def test_mapping_keeps_the_author_and_reply_ids_by_default() -> None:
    row = to_new_mention(item(), source=SOURCE, collected_at=NOW)

    assert (row.author, row.parent_external_id, row.thread_external_id) == (
        "kettle_owner",
        "t1_kc1",
        "t3_1abcde",
    )
    assert (row.source_id, row.touchpoint_id, row.collected_at) == (7, 3, NOW)


def test_hash_stores_a_keyed_pseudonym_that_is_stable_across_runs() -> None:
    authors = AuthorPolicy(privacy=AuthorPrivacy.HASH, key=KEY)

    first = to_new_mention(item(), source=SOURCE, collected_at=NOW, authors=authors)
    again = to_new_mention(
        item(), source=SOURCE, collected_at=NOW, authors=AuthorPolicy(privacy=AuthorPrivacy.HASH, key=KEY)
    )
    other = to_new_mention(item("someone_else"), source=SOURCE, collected_at=NOW, authors=authors)

    expected = "sha256:" + hmac.new(KEY, b"kettle_owner", hashlib.sha256).hexdigest()[:16]
    assert first.author == again.author == expected
    assert other.author != expected
    # not a plain hash: a dictionary of handles hashed without the key does not find it
    assert expected[len("sha256:") :] != hashlib.sha256(b"kettle_owner").hexdigest()[:16]


def test_another_key_gives_other_tokens() -> None:
    one = AuthorPolicy(privacy=AuthorPrivacy.HASH, key=KEY).apply("kettle_owner")
    two = AuthorPolicy(privacy=AuthorPrivacy.HASH, key=b"another-installation").apply("kettle_owner")
    assert one != two


def test_drop_stores_no_author() -> None:
    authors = AuthorPolicy(privacy=AuthorPrivacy.DROP)
    row = to_new_mention(item(), source=SOURCE, collected_at=NOW, authors=authors)
    assert row.author is None
    assert row.raw == '{"author": "kettle_owner"}'  # raw keeps what the source sent (documented)


@pytest.mark.parametrize("privacy", list(AuthorPrivacy))
def test_a_missing_author_stays_missing(privacy: AuthorPrivacy) -> None:
    authors = AuthorPolicy(privacy=privacy, key=KEY)
    assert to_new_mention(item(None), source=SOURCE, collected_at=NOW, authors=authors).author is None


def test_hash_without_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="author_hash_key"):
        AuthorPolicy(privacy=AuthorPrivacy.HASH)


def test_the_key_is_not_in_the_repr() -> None:
    assert "per-installation-secret" not in repr(AuthorPolicy(privacy=AuthorPrivacy.HASH, key=KEY))
