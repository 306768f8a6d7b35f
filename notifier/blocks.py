"""Block Kit messages for alerts, built from escaped customer text.

Blocks are built with `slack_sdk.models` and returned as `to_dict()` output: `to_dict()` runs the SDK's
validators, so a block that Slack would reject with `invalid_blocks` fails here, in our process, with a
readable message, instead of at send time. Every piece of customer text goes through `escape_mrkdwn`
(and is cut to the block's limit measured *after* escaping); text objects that carry customer text are
`verbatim`, so Slack does not auto-link channel names or bare URLs in them either.

The plain-text fallback (`text` of chat.postMessage) is shown in notifications and by clients that cannot
render blocks. Slack parses it as `mrkdwn` too, so it is escaped the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from notifier.escape import escape_and_truncate, is_linkable, safe_link

__all__ = [
    "FALLBACK_TEXT_LIMIT",
    "QUOTE_LIMIT",
    "SECTION_TEXT_LIMIT",
    "MentionMessage",
    "build_mention_blocks",
    "build_mention_fallback",
]

SECTION_TEXT_LIMIT = 3000  # Slack: section `text` at most 3000 characters
FIELD_TEXT_LIMIT = 2000  # Slack: each section field at most 2000 characters
QUOTE_LIMIT = 700  # an alert shows an excerpt; the link leads to the whole post
FALLBACK_TEXT_LIMIT = 3000  # Slack truncates `text` at 40k, but notifications show far less
TITLE_LIMIT = 200
SHORT_LIMIT = 200  # source, touchpoint, author: names, not prose
TOPICS_LIMIT = 500
URL_TEXT_LIMIT = 500

_UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class MentionMessage:
    """Everything a mention alert shows, as plain values (no ORM rows, so the builders stay pure).

    `quote` is the mention's text (cut and escaped here). `confidence` is the model's probability for
    `label`; `p_negative` is shown as well when the label is not negative (a mixed mention that still
    alerted). `topics` are topic names; `severity` is the policy's level (a `Severity` works, it is a
    `str`). Issue 6 adds reach and a review-queue link as further optional fields.
    """

    quote: str
    url: str
    source: str
    label: str
    confidence: float
    p_negative: float | None = None
    touchpoint: str | None = None
    topics: Sequence[str] = ()
    title: str | None = None
    author: str | None = None
    severity: str | None = None


def build_mention_blocks(card: MentionMessage, *, quote_limit: int = QUOTE_LIMIT) -> list[dict[str, Any]]:
    """Block Kit blocks for one mention alert: heading, quoted excerpt, facts, link.

    The quote is cut to `quote_limit` (at most a section's 3000 characters) on a grapheme boundary,
    whitespace collapsed so that a newline in customer text cannot end the `>` block quote and let the
    rest of the post pose as our own message.
    """
    quote_limit = min(quote_limit, SECTION_TEXT_LIMIT - 1)  # room for the ">" quote marker
    heading = f"*{_heading(card)}* · {_short(card.source)}"
    if card.title:
        heading += f"\n*{escape_and_truncate(_one_line(card.title), TITLE_LIMIT)}*"
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(heading)),
        SectionBlock(text=_mrkdwn(">" + escape_and_truncate(_one_line(card.quote), quote_limit))),
        SectionBlock(fields=[_mrkdwn(_field(name, value, limit)) for name, value, limit in _facts(card)]),
    ]
    if card.url.strip():
        blocks.append(ContextBlock(elements=[_mrkdwn(_link_line(card.url))]))
    return [block.to_dict() for block in blocks]


def build_mention_fallback(card: MentionMessage, *, limit: int = FALLBACK_TEXT_LIMIT) -> str:
    """Plain-text fallback for notifications and block-less clients: one line, escaped, at most `limit`.

    The link and the facts go first so that cutting a long quote never drops them.
    """
    facts = f"{_heading(card)} on {_short(card.source)} · {_sentiment(card)} · {_touchpoint(card)}"
    head = f"{facts} · {safe_link(card.url, 'link')}: " if is_linkable(card.url) else f"{facts}: "
    room = limit - len(head)
    if room < 3:
        raise ValueError(f"limit {limit} leaves no room for the quote")
    return head + "“" + escape_and_truncate(_one_line(card.quote), room - 2) + "”"


def _heading(card: MentionMessage) -> str:
    if card.severity:
        return f"Negative mention ({_short(card.severity)})"
    return "Negative mention"


def _facts(card: MentionMessage) -> list[tuple[str, str, int]]:
    """(name, raw value, limit) of each fact field; values are escaped when the field is built."""
    facts = [
        ("Sentiment", _sentiment_raw(card), SHORT_LIMIT),
        ("Touchpoint", _one_line(card.touchpoint) if card.touchpoint else _UNASSIGNED, SHORT_LIMIT),
    ]
    if card.topics:
        facts.append(("Topics", ", ".join(_one_line(topic) for topic in card.topics), TOPICS_LIMIT))
    if card.author:
        facts.append(("Author", _one_line(card.author), SHORT_LIMIT))
    return facts


def _field(name: str, raw: str, limit: int) -> str:
    return f"*{name}*\n" + escape_and_truncate(raw, min(limit, FIELD_TEXT_LIMIT - len(name) - 3))


def _link_line(url: str) -> str:
    """A clickable link for http(s) URLs; anything else is shown as inert escaped text, never a link."""
    if is_linkable(url):
        return safe_link(url, "Open the mention")
    return "Source: " + escape_and_truncate(_one_line(url), URL_TEXT_LIMIT)


def _sentiment_raw(card: MentionMessage) -> str:
    text = f"{_one_line(card.label)} ({card.confidence:.0%})"
    if card.p_negative is not None and card.label != "negative":
        text += f", p(negative) {card.p_negative:.0%}"
    return text


def _sentiment(card: MentionMessage) -> str:
    return escape_and_truncate(_sentiment_raw(card), SHORT_LIMIT)


def _touchpoint(card: MentionMessage) -> str:
    return _short(card.touchpoint) if card.touchpoint else _UNASSIGNED


def _short(value: str) -> str:
    return escape_and_truncate(_one_line(value), SHORT_LIMIT)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)
