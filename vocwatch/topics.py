"""The topic taxonomy in effect: the operator's `[topics.*]` tables, or the built-in consumer-brand set.

Settings hold plain config; the model wants `sentiment.taxonomy.TopicDefinition`s and the catalog wants
(name, description, touchpoint) rows. Both are derived here from one place, so the topics the model tags
are exactly the topics stored, routed on and shown in the digest.
"""

from __future__ import annotations

from sentiment.taxonomy import DEFAULT_TAXONOMY, TopicDefinition
from vocwatch.settings import Settings, TopicSettings

__all__ = ["DEFAULT_TOPIC_TOUCHPOINTS", "effective_topics", "taxonomy"]

DEFAULT_TOPIC_TOUCHPOINTS: dict[str, str] = {
    "delivery": "delivery",
    "packaging": "delivery",
    "billing": "renewal",
    "product_quality": "product",
    "app_bugs": "product",
    "account_login": "setup",
    "customer_support": "support",
    "refunds_returns": "support",
    "staff_attitude": "support",
}
"""Topic → touchpoint rules of the built-in taxonomy (names of the default touchpoints)."""


def effective_topics(settings: Settings) -> dict[str, TopicSettings]:
    """The configured topics; when none are configured, the built-in taxonomy.

    A built-in topic's touchpoint rule is kept only when that touchpoint is configured, so an operator
    who renamed the touchpoints gets topics without rules rather than a startup error.
    """
    if settings.topics:
        return dict(settings.topics)
    return {
        topic.name: TopicSettings(
            description=topic.description,
            examples=list(topic.examples),
            keywords=list(topic.keywords),
            touchpoint=touchpoint
            if (touchpoint := DEFAULT_TOPIC_TOUCHPOINTS.get(topic.name)) in settings.touchpoints
            else None,
        )
        for topic in DEFAULT_TAXONOMY
    }


def taxonomy(settings: Settings) -> tuple[TopicDefinition, ...]:
    """The topics in effect as the model's definitions."""
    return tuple(
        TopicDefinition(
            name=name,
            description=topic.description,
            examples=tuple(topic.examples),
            keywords=tuple(topic.keywords),
        )
        for name, topic in effective_topics(settings).items()
    )
