"""The digest as a Slack message: Block Kit within Slack's limits, every piece of text escaped.

Touchpoint names and topic names come from the config and quotes from customers: all of it goes through
`escape_mrkdwn` (quotes are also cut on a grapheme boundary and collapsed to one line, so a newline
cannot end the `>` quote). Sections are built with `slack_sdk.models` whose `to_dict()` validates the
3000-character limit; a section that would be longer is cut with an ellipsis rather than rejected.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from notifier.digest import format as fmt
from notifier.digest.model import WeeklyDigest
from notifier.escape import escape_and_truncate, escape_mrkdwn, safe_link, truncate

__all__ = ["MAX_BLOCKS", "QUOTE_LIMIT", "build_digest_blocks", "build_digest_fallback"]

MAX_BLOCKS = 50  # Slack: at most 50 blocks in a message
QUOTE_LIMIT = 240
_SECTION_LIMIT = 3000
_CONTEXT_LIMIT = 2000


def build_digest_blocks(digest: WeeklyDigest) -> list[dict[str, Any]]:
    """Header, overall line, one section per journey stage, surveys, topics, incidents, honesty lines;
    a partial digest says so in its header and in a warning right under it."""
    blocks: list[Block] = [
        HeaderBlock(text=f"Weekly customer voice · {fmt.week_title(digest)}"),
        _context(f"{fmt.date_range(digest)} · {fmt.overall(digest)}"),
    ]
    if (partial := fmt.partial_text(digest)) is not None:
        blocks.append(_section(f":warning: *{partial}*"))
    if digest.is_empty:
        blocks.append(_section("*No mentions or survey answers were stored for this week.*"))
    for stage, rows in digest.stages:
        lines = [f"*{escape_mrkdwn(fmt.stage_title(stage))}*"]
        for row in rows:
            flag = " :warning:" if row.small_n else ""
            lines.append(f"• *{escape_mrkdwn(row.touchpoint)}* — {escape_mrkdwn(fmt.row_summary(row))}{flag}")
        blocks.append(_section("\n".join(lines)))
    if digest.surveys:
        lines = ["*Survey scores*"]
        for survey in digest.surveys:
            lines.append(
                f"• {escape_mrkdwn(survey.touchpoint)} · {survey.metric.upper()} "
                f"{fmt.survey_value(survey.metric, survey.value)} ({survey.responses} answers, "
                f"{fmt.signed(survey.change)} vs last week)"
            )
        blocks.append(_section("\n".join(lines)))
    blocks.append(DividerBlock())
    blocks.extend(_topic_blocks(digest))
    blocks.append(_section(_incidents_text(digest)))
    blocks.append(DividerBlock())
    blocks.extend(_context(line) for line in _honesty_lines(digest))
    return [block.to_dict() for block in blocks[:MAX_BLOCKS]]


def build_digest_fallback(digest: WeeklyDigest) -> str:
    """The notification text: week and overall numbers (no customer text)."""
    return f"Weekly customer voice {fmt.week_title(digest)}: {fmt.overall(digest)}"


def _topic_blocks(digest: WeeklyDigest) -> list[Block]:
    if not digest.topics:
        return [_section("*Top negative topics*\nNo negative topics this week.")]
    blocks: list[Block] = [_section("*Top negative topics*")]
    for topic in digest.topics:
        lines = [
            f"*{escape_mrkdwn(topic.topic)}* — {topic.negative} negative ({topic.change:+d} vs last week)"
        ]
        for quote in topic.quotes:
            text = escape_and_truncate(" ".join(quote.text.split()), QUOTE_LIMIT)
            lines.append(f">{text} — {safe_link(quote.url, quote.source)}")
        blocks.append(_section("\n".join(lines)))
    return blocks


def _incidents_text(digest: WeeklyDigest) -> str:
    lines = [f"*Incidents* · churn-risk mentions: {digest.churn_risk} (last week {digest.churn_risk_prev})"]
    if not digest.incidents:
        lines.append("No incidents this week.")
    for incident in digest.incidents:
        lines.append(
            f"• {escape_and_truncate(' '.join(incident.title.split()), 200)} — {incident.mentions} mentions, "
            f"{escape_mrkdwn(incident.status)} ({escape_mrkdwn(incident.state)})"
        )
    return "\n".join(lines)


def _honesty_lines(digest: WeeklyDigest) -> list[str]:
    coverage = "; ".join(escape_mrkdwn(fmt.coverage_text(line)) for line in digest.coverage) or "no sources"
    held = sum(digest.held_back.values())
    held_text = (
        f"{held} alerts held back by budgets ("
        + ", ".join(f"{escape_mrkdwn(ch)} {n}" for ch, n in digest.held_back.items())
        + ")"
        if held
        else "no alerts held back by budgets"
    )
    lines = [
        f"*Coverage:* {coverage}",
        f"*Alerts:* {held_text}",
        f"*Model:* {escape_mrkdwn(fmt.model_text(digest.model_versions))} · "
        f"*taxonomy:* {escape_mrkdwn(digest.taxonomy_version)}",
    ]
    if (mix := fmt.mix_text(digest.mix)) is not None:
        lines.append(f"*Mix effect:* {mix}")
    return lines


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, _SECTION_LIMIT), verbatim=True))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, _CONTEXT_LIMIT), verbatim=True)])
