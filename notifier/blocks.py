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
from urllib.parse import quote as url_quote

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from notifier.escape import escape_and_truncate, is_linkable, safe_link

__all__ = [
    "FALLBACK_TEXT_LIMIT",
    "QUOTE_LIMIT",
    "SECTION_TEXT_LIMIT",
    "CaseUpdateMessage",
    "IncidentLink",
    "IncidentMessage",
    "MentionMessage",
    "SpikeMessage",
    "build_case_update_blocks",
    "build_case_update_fallback",
    "build_incident_blocks",
    "build_incident_fallback",
    "build_mention_blocks",
    "build_mention_fallback",
    "build_spikes_blocks",
    "build_spikes_fallback",
    "case_url",
    "readable_name",
]

SECTION_TEXT_LIMIT = 3000  # Slack: section `text` at most 3000 characters
FIELD_TEXT_LIMIT = 2000  # Slack: each section field at most 2000 characters
QUOTE_LIMIT = 700  # an alert shows an excerpt; the link leads to the whole post
FALLBACK_TEXT_LIMIT = 3000  # Slack truncates `text` at 40k, but notifications show far less
TITLE_LIMIT = 200
SHORT_LIMIT = 200  # source, touchpoint, author: names, not prose
TOPICS_LIMIT = 500
URL_TEXT_LIMIT = 500
BUTTON_URL_LIMIT = 3000  # Slack: a button's url at most 3000 characters
NOTE_LIMIT = 300

_UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class MentionMessage:
    """Everything a mention alert shows, as plain values (no ORM rows, so the builders stay pure).

    `quote` is the mention's text (cut and escaped here). `confidence` is the model's probability for
    `label`; `p_negative` is shown as well when the label is not negative (a mixed mention that still
    alerted). `topics` are topic names; `severity` is the policy's level (a `Severity` works, it is a
    `str`). `severity_score` is the severity formula's score (shown next to the level); `followers`,
    `replies`, `reposts` and `score` make up the author's reach; `case_url` becomes an "Open case"
    button into the review UI; `note` is our own one-line remark (e.g. what the budget held back).
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
    severity_score: float | None = None
    followers: int | None = None
    replies: int | None = None
    reposts: int | None = None
    score: int | None = None
    case_url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class IncidentMessage:
    """The parent message of an incident thread, rewritten in place as the incident grows.

    `title` names what the incident is about (a topic, touchpoint or story); `quote` is the first
    mention's text and `url` its link. `state` is the growth state (new, growing, critical, quiet,
    resolved), `trend` the sentiment trend, `reach` the summed weighted audience of its mentions.
    """

    title: str
    state: str
    count: int
    reach: float
    trend: str
    severity: str
    quote: str
    url: str = ""
    source: str = ""
    touchpoint: str | None = None
    topics: Sequence[str] = ()
    first_at: str | None = None
    last_at: str | None = None
    case_url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CaseUpdateMessage:
    """What a person did to a case in the review UI, echoed as a reply in the mention's Slack thread.

    `summary` is our own wording of the action ("resolved (fixed)"); `note` is staff-written text, which
    is escaped like customer text: a note must not ping a channel either.
    """

    case_id: int
    actor: str
    summary: str
    note: str | None = None
    case_url: str | None = None


def build_case_update_blocks(card: CaseUpdateMessage) -> list[dict[str, Any]]:
    """One context line "Case #12 · ana: resolved (fixed)", the note if any, and the case button."""
    blocks: list[Block] = [ContextBlock(elements=[_mrkdwn(_case_update_line(card))])]
    if card.note:
        blocks.append(
            SectionBlock(text=_mrkdwn(">" + escape_and_truncate(_one_line(card.note), QUOTE_LIMIT)))
        )
    if (button := _case_button(card.case_url)) is not None:
        blocks.append(ActionsBlock(elements=[button]))
    return [block.to_dict() for block in blocks]


def build_case_update_fallback(card: CaseUpdateMessage) -> str:
    """The reply's plain text: the same line, plus the note cut short."""
    text = _case_update_line(card)
    if card.note:
        text += ": " + escape_and_truncate(_one_line(card.note), NOTE_LIMIT)
    return text


def _case_update_line(card: CaseUpdateMessage) -> str:
    return f"Case #{card.case_id} · {_short(card.actor)}: {_short(card.summary)}"


def case_url(base_url: str | None, case_id: int | None) -> str | None:
    """`<base_url>/cases/<id>` in the review UI, or None when either is unknown."""
    if not base_url or case_id is None:
        return None
    return f"{base_url.rstrip('/')}/cases/{case_id}"


def build_mention_blocks(card: MentionMessage, *, quote_limit: int = QUOTE_LIMIT) -> list[dict[str, Any]]:
    """Block Kit blocks for one mention alert: heading, quoted excerpt, facts, link.

    The quote is cut to `quote_limit` (at most a section's 3000 characters) on a grapheme boundary,
    whitespace collapsed so that a newline in customer text cannot end the `>` block quote and let the
    rest of the post pose as our own message.
    """
    quote_limit = min(quote_limit, SECTION_TEXT_LIMIT - 1)  # room for the ">" quote marker
    heading = f"*{_heading(card)}* · {_name(card.source)}"
    if card.title:
        heading += f"\n*{escape_and_truncate(_one_line(card.title), TITLE_LIMIT)}*"
    return _card_blocks(heading, card.quote, _facts(card), card.note, card.url, card.case_url, quote_limit)


def build_incident_blocks(card: IncidentMessage, *, quote_limit: int = QUOTE_LIMIT) -> list[dict[str, Any]]:
    """Block Kit blocks of an incident's parent message: headline with state, first quote, facts, link."""
    quote_limit = min(quote_limit, SECTION_TEXT_LIMIT - 1)
    heading = f"*{_incident_heading(card)}*"
    facts = [
        ("Mentions", str(card.count), SHORT_LIMIT),
        ("Reach", _human(card.reach), SHORT_LIMIT),
        ("Sentiment trend", _one_line(card.trend), SHORT_LIMIT),
        ("Severity", _one_line(card.severity), SHORT_LIMIT),
        ("Touchpoint", readable_name(card.touchpoint) if card.touchpoint else _UNASSIGNED, SHORT_LIMIT),
    ]
    if card.topics:
        facts.append(("Topics", ", ".join(readable_name(topic) for topic in card.topics), TOPICS_LIMIT))
    if card.first_at and card.last_at:
        facts.append(("Seen", f"{card.first_at} → {card.last_at}", SHORT_LIMIT))
    return _card_blocks(heading, card.quote, facts, card.note, card.url, card.case_url, quote_limit)


def _card_blocks(
    heading: str,
    quote: str,
    facts: Sequence[tuple[str, str, int]],
    note: str | None,
    url: str,
    case_url: str | None,
    quote_limit: int,
) -> list[dict[str, Any]]:
    """The layout mention and incident messages share: heading, quote, facts, note, link, case button."""
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(heading)),
        SectionBlock(text=_mrkdwn(">" + escape_and_truncate(_one_line(quote), quote_limit))),
        SectionBlock(fields=[_mrkdwn(_field(name, value, limit)) for name, value, limit in facts]),
    ]
    if note:
        blocks.append(ContextBlock(elements=[_mrkdwn(escape_and_truncate(_one_line(note), NOTE_LIMIT))]))
    if url.strip():
        blocks.append(ContextBlock(elements=[_mrkdwn(_link_line(url))]))
    if (button := _case_button(case_url)) is not None:
        blocks.append(ActionsBlock(elements=[button]))
    return [block.to_dict() for block in blocks]


def build_incident_fallback(card: IncidentMessage, *, limit: int = FALLBACK_TEXT_LIMIT) -> str:
    """Plain-text fallback of an incident's parent: state and counts first, then the quote."""
    head = f"{_incident_heading(card)} · {card.count} mentions · reach {_human(card.reach)}"
    if card.note:
        head += " · " + escape_and_truncate(_one_line(card.note), NOTE_LIMIT)
    head += ": "
    room = limit - len(head)
    if room < 3:
        raise ValueError(f"limit {limit} leaves no room for the quote")
    return head + "“" + escape_and_truncate(_one_line(card.quote), room - 2) + "”"


def _incident_heading(card: IncidentMessage) -> str:
    return f"Incident ({_short(card.state)}): {escape_and_truncate(_one_line(card.title), TITLE_LIMIT)}"


def _case_button(url: str | None) -> ButtonElement | None:
    """An "Open case" link button into the review UI; only for a safe http(s) URL within Slack's limit."""
    if not url or not is_linkable(url) or len(url) > BUTTON_URL_LIMIT:
        return None
    return ButtonElement(text="Open case", url=url.strip(), action_id="open_case")


def _human(value: float) -> str:
    """12345 -> "12.3k": reach is an order of magnitude, not an exact count."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:.0f}"


def build_mention_fallback(card: MentionMessage, *, limit: int = FALLBACK_TEXT_LIMIT) -> str:
    """Plain-text fallback for notifications and block-less clients: one line, escaped, at most `limit`.

    The link and the facts go first so that cutting a long quote never drops them.
    """
    facts = f"{_heading(card)} on {_name(card.source)} · {_sentiment(card)} · {_touchpoint(card)}"
    if card.note:
        facts += " · " + escape_and_truncate(_one_line(card.note), NOTE_LIMIT)
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
        ("Touchpoint", readable_name(card.touchpoint) if card.touchpoint else _UNASSIGNED, SHORT_LIMIT),
    ]
    if card.topics:
        facts.append(("Topics", ", ".join(readable_name(topic) for topic in card.topics), TOPICS_LIMIT))
    if card.author:
        facts.append(("Author", _one_line(card.author), SHORT_LIMIT))
    if (reach := _reach(card)) is not None:
        facts.append(("Author reach", reach, SHORT_LIMIT))
    if card.severity_score is not None and card.severity:
        facts.append(("Severity", f"{_one_line(card.severity)} ({card.severity_score:.2f})", SHORT_LIMIT))
    return facts


def _reach(card: MentionMessage) -> str | None:
    parts = [
        f"{_human(value)} {name}"
        for name, value in (
            ("followers", card.followers),
            ("replies", card.replies),
            ("reposts", card.reposts),
            ("score", card.score),
        )
        if value is not None
    ]
    return ", ".join(parts) or None


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
    return _name(card.touchpoint) if card.touchpoint else _UNASSIGNED


def readable_name(name: str) -> str:
    """A name from the operator's config (a source, topic or touchpoint) as people read it: underscores
    as spaces ("customer support"), where escaping would draw them as look-alike characters."""
    return _one_line(name).replace("_", " ")


def _name(value: str) -> str:
    return escape_and_truncate(readable_name(value), SHORT_LIMIT)


def _short(value: str) -> str:
    return escape_and_truncate(_one_line(value), SHORT_LIMIT)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


# -- spike alerts (issue 6, item 4) -------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentLink:
    """The open incident a spike belongs to: named in the spike message, linked to its Slack thread.

    `channel_id` and `ts` are its parent message's, once posted (None before).
    """

    id: int
    title: str
    count: int
    channel_id: str | None = None
    ts: str | None = None

    @property
    def thread_url(self) -> str | None:
        """Slack's workspace-independent archive link to the parent (`/archives/<channel>/p<ts digits>`)."""
        if not self.channel_id or not self.ts:
            return None
        return f"https://slack.com/archives/{url_quote(self.channel_id, safe='')}/p{self.ts.replace('.', '')}"


@dataclass(frozen=True)
class SpikeMessage:
    """A spike of negative mentions for one touchpoint or topic, as plain values.

    `dimension` is "touchpoint" or "topic"; `window` is the rule's label ("1h", "1d"); `expected` is the
    baseline's mean negatives per window; shares are in [0, 1] or None when unknown. `examples` are a few
    negative quotes of the window (customer text: escaped and cut here); `incident` the open incident
    that carries this touchpoint or topic, if any.
    """

    dimension: str
    name: str
    window: str
    observed: int
    total: int
    expected: float
    share: float | None = None
    baseline_share: float | None = None
    p_value: float | None = None
    examples: Sequence[str] = ()
    incident: IncidentLink | None = None


SPIKES_PER_MESSAGE = 10
"""Spikes shown in one message (Slack allows 50 blocks); the rest are counted in a closing line."""


def build_spikes_blocks(spikes: Sequence[SpikeMessage], *, example_limit: int = 280) -> list[dict[str, Any]]:
    """Block Kit for the spikes one check found, in ONE message (one ping, however many keys spiked).

    Per spike: what spiked, by how much against what usual, its incident (linked to the thread once
    posted), and up to two example quotes; more than `SPIKES_PER_MESSAGE` spikes end in "+N more".
    """
    if not spikes:
        raise ValueError("a spike message needs at least one spike")
    heading = f"*{len(spikes)} spikes of negative mentions*" if len(spikes) > 1 else None
    out: list[Block] = [SectionBlock(text=_mrkdwn(heading))] if heading else []
    for spike in spikes[:SPIKES_PER_MESSAGE]:
        fields = [
            ("Negatives", f"{spike.observed} in the last {spike.window} ({_usual(spike)})"),
            ("Share negative", _share_change(spike)),
        ]
        if spike.p_value is not None:
            fields.append(("Chance if nothing changed", f"p = {spike.p_value:.2g}"))
        out.append(SectionBlock(text=_mrkdwn(f"*{_spike_heading(spike)}*")))
        out.append(SectionBlock(fields=[_mrkdwn(_field(name, value, SHORT_LIMIT)) for name, value in fields]))
        if spike.incident is not None:
            out.append(ContextBlock(elements=[_mrkdwn(_incident_line(spike.incident))]))
        for quote in list(spike.examples)[: 3 if len(spikes) == 1 else 2]:
            out.append(SectionBlock(text=_mrkdwn(">" + escape_and_truncate(_one_line(quote), example_limit))))
    if len(spikes) > SPIKES_PER_MESSAGE:
        out.append(ContextBlock(elements=[_mrkdwn(f"+{len(spikes) - SPIKES_PER_MESSAGE} more spikes")]))
    return [block.to_dict() for block in out]


def build_spikes_fallback(spikes: Sequence[SpikeMessage], *, limit: int = FALLBACK_TEXT_LIMIT) -> str:
    """One escaped line for notifications and block-less clients, naming every spike it can fit."""
    if not spikes:
        raise ValueError("a spike message needs at least one spike")
    text = ""
    for shown, spike in enumerate(spikes):
        line = (
            f"{_spike_heading(spike)}: {spike.observed} negatives in the last {spike.window}, {_usual(spike)}"
        )
        more = f" · +{len(spikes) - shown} more spikes"
        if shown and len(text) + 3 + len(line) + len(more) > limit:
            return text + more
        text = f"{text} · {line}" if text else line
    return text


def _incident_line(incident: IncidentLink) -> str:
    title = escape_and_truncate(_one_line(incident.title), TITLE_LIMIT)
    what = f"incident #{incident.id} “{title}” ({incident.count} mentions)"
    url = incident.thread_url
    return f"Part of <{url}|{what}>" if url else f"Part of {what}"


def _usual(spike: SpikeMessage) -> str:
    """The baseline in words: "usually 0.4", or "usually none" rather than "usually 0.0"."""
    return f"usually {spike.expected:.1f}" if spike.expected > 0 else "usually none"


def _spike_heading(spike: SpikeMessage) -> str:
    ratio = spike.observed / spike.expected if spike.expected > 0 else None
    growth = f" ({ratio:.1f}× usual)" if ratio is not None else ""
    return f"Spike of negative mentions · {_short(spike.dimension)} {_name(spike.name)}{growth}"


def _share_change(spike: SpikeMessage) -> str:
    if spike.share is None:
        return "unknown"
    if spike.baseline_share is None:
        return f"{spike.share:.0%} of {spike.total}"
    return f"{spike.share:.0%} of {spike.total}, usually {spike.baseline_share:.0%}"
