"""Taxonomy definitions, versions and keyword matching."""

from __future__ import annotations

import dataclasses

import pytest

from sentiment.taxonomy import DEFAULT_TAXONOMY, TopicDefinition, taxonomy_version
from sentiment.topics import keyword_hit


def test_default_taxonomy_covers_consumer_brand_topics_in_several_languages() -> None:
    names = {topic.name for topic in DEFAULT_TAXONOMY}
    assert {"delivery", "billing", "product_quality", "customer_support", "app_bugs"} <= names
    assert {"account_login", "refunds_returns", "staff_attitude"} <= names
    for topic in DEFAULT_TAXONOMY:
        assert any(ch.isascii() for example in topic.examples for ch in example), topic.name
        assert any("\u4e00" <= ch <= "\u9fff" for example in topic.examples for ch in example), topic.name


def test_version_changes_with_the_taxonomy_and_names_must_be_unique() -> None:
    version = taxonomy_version(DEFAULT_TAXONOMY)
    assert version == taxonomy_version(tuple(DEFAULT_TAXONOMY)) and version.startswith("taxonomy.")
    edited = (dataclasses.replace(DEFAULT_TAXONOMY[0], keywords=("drone",)), *DEFAULT_TAXONOMY[1:])
    assert taxonomy_version(edited) != version
    with pytest.raises(ValueError, match="unique"):
        taxonomy_version((DEFAULT_TAXONOMY[0], DEFAULT_TAXONOMY[0]))


def test_a_topic_needs_something_to_match() -> None:
    with pytest.raises(ValueError):
        TopicDefinition(name="empty", description=" ")
    assert TopicDefinition(name="x", description="", examples=("an example",)).phrases == ("an example",)


def test_keywords_match_whole_words_or_cjk_substrings() -> None:
    assert keyword_hit("The app CRASHES on start", ("crashes",))
    assert not keyword_hit("a crashescourse", ("crashes",))
    assert keyword_hit("打开就闪退了", ("闪退",))
    assert not keyword_hit("nothing here", ())
