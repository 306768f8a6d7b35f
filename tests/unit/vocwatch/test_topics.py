"""The topics in effect: the built-in taxonomy unless the operator declares their own."""

from __future__ import annotations

from sentiment.taxonomy import DEFAULT_TAXONOMY
from vocwatch.settings import TopicSettings, TouchpointSettings, load_settings
from vocwatch.topics import DEFAULT_TOPIC_TOUCHPOINTS, effective_topics, taxonomy


def test_no_configured_topics_means_the_built_in_taxonomy_with_its_touchpoint_rules() -> None:
    settings = load_settings(None)
    topics = effective_topics(settings)
    assert list(topics) == [topic.name for topic in DEFAULT_TAXONOMY]
    assert topics["delivery"].touchpoint == "delivery"
    assert topics["app_bugs"].touchpoint == "product"
    assert set(DEFAULT_TOPIC_TOUCHPOINTS) <= set(topics)
    assert [definition.name for definition in taxonomy(settings)] == list(topics)


def test_declared_topics_replace_the_built_in_set() -> None:
    settings = load_settings(
        None,
        topics={"pets": TopicSettings(description="Pet food", examples=["good dog"], keywords=["dog"])},
    )
    (definition,) = taxonomy(settings)
    assert (definition.name, definition.examples, definition.keywords) == ("pets", ("good dog",), ("dog",))


def test_a_rule_naming_an_unconfigured_touchpoint_is_dropped_rather_than_failing_startup() -> None:
    settings = load_settings(None, touchpoints={"everything": TouchpointSettings(stage="use")})
    topics = effective_topics(settings)
    assert topics["delivery"].touchpoint is None
    assert len(topics) == len(DEFAULT_TAXONOMY)
