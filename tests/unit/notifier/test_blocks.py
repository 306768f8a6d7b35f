"""Mention alerts fit Slack's Block Kit limits and carry customer text only in escaped form."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from notifier.blocks import (
    FALLBACK_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    MentionMessage,
    build_mention_blocks,
    build_mention_fallback,
)
from storage.enums import Severity

HOSTILE = "<!channel> my order <@U123> never came & <http://evil.example|click> <!here>"
LONG = ("The courier left the parcel in the rain & it was soaked. " * 200)[:10_000]


def card(**overrides: Any) -> MentionMessage:
    values: dict[str, Any] = {
        "quote": HOSTILE,
        "url": "https://reviews.example/acme/123",
        "source": "acme-reviews",
        "label": "negative",
        "confidence": 0.934,
        "touchpoint": "delivery",
    }
    values.update(overrides)
    return MentionMessage(**values)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn/plain text string in the blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in {"mrkdwn", "plain_text"}:
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]


CONTROL = re.compile(r"<(?!https://reviews\.example/acme/123\|Open the mention>)")


def test_hostile_text_arrives_escaped_in_every_block() -> None:
    blocks = build_mention_blocks(card(author="<@U999>", title="<!everyone> scam", topics=["<#C1>"]))
    for text in texts(blocks):
        assert not CONTROL.search(text), text  # the only "<" is our own link
    quote = section_texts(blocks)[1]
    assert quote == ">" + "&lt;!channel&gt; my order &lt;@U123&gt; never came &amp; " + (
        "&lt;http://evil.example|click&gt; &lt;!here&gt;"
    )
    assert html.unescape(quote[1:]) == HOSTILE


def test_blocks_show_source_sentiment_touchpoint_topics_and_link() -> None:
    blocks = build_mention_blocks(card(topics=("delivery", "quality"), severity="critical"))
    heading, _quote = section_texts(blocks)[:2]
    assert "Negative mention (critical)" in heading
    assert "acme-reviews" in heading
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert fields == [
        "*Sentiment*\nnegative (93%)",
        "*Touchpoint*\ndelivery",
        "*Topics*\ndelivery, quality",
    ]
    assert blocks[-1] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "<https://reviews.example/acme/123|Open the mention>",
                "verbatim": True,
            }
        ],
    }


def test_p_negative_is_shown_when_the_label_is_not_negative() -> None:
    mixed = build_mention_blocks(card(label="neutral", confidence=0.5, p_negative=0.45))
    assert mixed[2]["fields"][0]["text"] == "*Sentiment*\nneutral (50%), p(negative) 45%"
    plain = build_mention_blocks(card(p_negative=0.934))
    assert plain[2]["fields"][0]["text"] == "*Sentiment*\nnegative (93%)"


def test_severity_enum_is_shown_by_value() -> None:
    heading = section_texts(build_mention_blocks(card(severity=Severity.CRITICAL)))[0]
    assert heading.startswith("*Negative mention (critical)*")


def test_topics_and_author_are_optional() -> None:
    fields = [f["text"] for f in build_mention_blocks(card(touchpoint=None))[2]["fields"]]
    assert fields == ["*Sentiment*\nnegative (93%)", "*Touchpoint*\nunassigned"]


def test_customer_text_objects_are_verbatim() -> None:
    """verbatim stops Slack from auto-linking #channels and bare URLs inside customer text."""
    blocks = build_mention_blocks(card())
    assert blocks[1]["text"]["verbatim"] is True


@pytest.mark.parametrize("quote_limit", [700, 2999, 10_000])
def test_ten_thousand_characters_stay_within_section_limits(quote_limit: int) -> None:
    blocks = build_mention_blocks(
        card(quote=LONG, title=LONG, author=LONG, source=LONG, touchpoint=LONG, topics=[LONG] * 20),
        quote_limit=quote_limit,
    )
    for text in section_texts(blocks):
        assert len(text) <= SECTION_TEXT_LIMIT
    assert len(section_texts(blocks)[1]) <= min(quote_limit, SECTION_TEXT_LIMIT - 1) + 1
    for item in blocks[2]["fields"]:
        assert len(item["text"]) <= 2000
    # Round trip through slack_sdk's own models: their validators accept what we built.
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()


def test_long_quote_is_cut_with_an_ellipsis_and_no_broken_entity() -> None:
    quote = section_texts(build_mention_blocks(card(quote="&" * 10_000)))[1]
    assert quote.endswith("…")
    assert re.fullmatch(r">(&amp;)*…", quote)


def test_newlines_cannot_end_the_quote() -> None:
    quote = section_texts(build_mention_blocks(card(quote="bad\n\n*we are hacked*\n>fake quote")))[1]
    assert "\n" not in quote
    # Nor can the customer's `*...*` turn bold: the asterisks arrive as look-alikes (U+2217).
    assert quote == ">bad \u2217we are hacked\u2217 &gt;fake quote"


def test_unsafe_url_is_shown_as_inert_text() -> None:
    blocks = build_mention_blocks(card(url="javascript:alert('<!channel>')"))
    assert blocks[-1]["elements"][0]["text"] == "Source: javascript:alert('&lt;!channel&gt;')"


def test_mention_without_url_has_no_link_block() -> None:
    blocks = build_mention_blocks(card(url=""))
    assert [b["type"] for b in blocks] == ["section", "section", "section"]


def test_fallback_text_is_escaped_one_line_and_within_limit() -> None:
    text = build_mention_fallback(card(quote=LONG + HOSTILE))
    assert len(text) <= FALLBACK_TEXT_LIMIT
    assert "\n" not in text
    assert text.startswith(
        "Negative mention on acme-reviews · negative (93%) · delivery · "
        "<https://reviews.example/acme/123|link>: “The courier"
    )
    assert text.endswith("…”")
    short = build_mention_fallback(card())
    assert short.endswith(
        "“&lt;!channel&gt; my order &lt;@U123&gt; never came &amp; "
        "&lt;http://evil.example|click&gt; &lt;!here&gt;”"
    )


def test_fallback_text_without_a_safe_url_has_no_link() -> None:
    text = build_mention_fallback(card(url="javascript:x"))
    assert "<" not in text
    assert "javascript" not in text


def test_blocks_are_json_serialisable() -> None:
    json.dumps(build_mention_blocks(card(quote=LONG)))


def test_config_names_read_as_words_not_look_alike_underscores() -> None:
    named = card(source="acme_reddit", touchpoint="get_help", topics=("customer_support", "app_bugs"))

    shown = " ".join(texts(build_mention_blocks(named))) + " " + build_mention_fallback(named)

    for words in ("acme reddit", "get help", "customer support", "app bugs"):
        assert words in shown
    assert "\u02cd" not in shown and "_" not in shown
