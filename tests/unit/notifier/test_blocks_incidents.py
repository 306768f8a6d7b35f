"""The issue-6 parts of alert messages: reach, severity, case button, held-back note, incident parents."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from notifier.blocks import (
    FALLBACK_TEXT_LIMIT,
    IncidentMessage,
    MentionMessage,
    build_incident_blocks,
    build_incident_fallback,
    build_mention_blocks,
    build_mention_fallback,
    case_url,
)

HOSTILE = "<!channel> refund & <@U123> <http://evil.example|click>"
SLACK_CONTROL = re.compile(r"<(?!https://)")


def mention(**overrides: Any) -> MentionMessage:
    values: dict[str, Any] = {
        "quote": HOSTILE,
        "url": "https://reviews.example/1",
        "source": "acme",
        "label": "negative",
        "confidence": 0.9,
        "severity": "critical",
        "severity_score": 0.8123,
        "followers": 12_345,
        "replies": 40,
        "reposts": 5,
        "case_url": "https://vocwatch.example/cases/7",
    }
    values.update(overrides)
    return MentionMessage(**values)


def incident(**overrides: Any) -> IncidentMessage:
    values: dict[str, Any] = {
        "title": HOSTILE,
        "state": "growing",
        "count": 4,
        "reach": 2_500_000,
        "trend": "worsening",
        "severity": "warning",
        "quote": HOSTILE,
        "url": "https://news.example/story",
        "topics": ("delivery", HOSTILE),
        "touchpoint": "delivery",
        "first_at": "2026-11-23 10:00 UTC",
        "last_at": "2026-11-23 11:00 UTC",
        "case_url": "https://vocwatch.example/cases/3",
        "note": "+12 lower-severity mentions held back — see queue/digest",
    }
    values.update(overrides)
    return IncidentMessage(**values)


def texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") in {"mrkdwn", "plain_text"} else []
        return own + [t for value in node.values() for t in texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in texts(value)]
    return []


def fields(blocks: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]


def test_mention_shows_reach_severity_and_a_case_button() -> None:
    blocks = build_mention_blocks(mention())
    assert "*Author reach*\n12.3k followers, 40 replies, 5 reposts" in fields(blocks)
    assert "*Severity*\ncritical (0.81)" in fields(blocks)
    assert blocks[-1] == {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "open_case",
                "text": {"type": "plain_text", "text": "Open case", "emoji": True},
                "url": "https://vocwatch.example/cases/7",
            }
        ],
    }


@pytest.mark.parametrize("url", ["javascript:alert(1)", "", None, "https://x.example/" + "a" * 3000])
def test_unsafe_or_missing_case_url_gives_no_button(url: str | None) -> None:
    assert all(b["type"] != "actions" for b in build_mention_blocks(mention(case_url=url)))


def test_case_url_joins_base_and_id() -> None:
    assert case_url("https://vocwatch.example/", 5) == "https://vocwatch.example/cases/5"
    assert case_url(None, 5) is None
    assert case_url("https://vocwatch.example", None) is None


def test_note_appears_in_blocks_and_fallback() -> None:
    card = mention(note="+3 lower-severity mentions held back — see queue/digest")
    assert any("+3 lower-severity" in t for t in texts(build_mention_blocks(card)))
    assert "+3 lower-severity mentions held back" in build_mention_fallback(card)


def test_incident_parent_shows_state_counts_and_escapes_everything() -> None:
    blocks = build_incident_blocks(incident())
    heading = blocks[0]["text"]["text"]
    assert (
        heading
        == "*Incident (growing): &lt;!channel&gt; refund &amp; &lt;@U123&gt; &lt;http://evil.example|click&gt;*"
    )
    assert fields(blocks)[:5] == [
        "*Mentions*\n4",
        "*Reach*\n2.5M",
        "*Sentiment trend*\nworsening",
        "*Severity*\nwarning",
        "*Touchpoint*\ndelivery",
    ]
    for text in texts(blocks):
        assert not SLACK_CONTROL.search(text), text
    topics = next(f for f in fields(blocks) if f.startswith("*Topics*"))
    assert html.unescape(topics) == f"*Topics*\ndelivery, {HOSTILE}"
    assert [b["type"] for b in blocks] == ["section", "section", "section", "context", "context", "actions"]


def test_incident_fallback_is_escaped_and_within_limit() -> None:
    text = build_incident_fallback(incident(quote=HOSTILE * 500))
    assert len(text) <= FALLBACK_TEXT_LIMIT
    assert not SLACK_CONTROL.search(text)
    assert text.startswith("Incident (growing): &lt;!channel&gt;")
    assert "4 mentions · reach 2.5M · +12 lower-severity mentions held back" in text
