"""The spike message: all spikes of one check in one message, each naming (and linking) its incident."""

from __future__ import annotations

import json

import pytest

from notifier.blocks import (
    SPIKES_PER_MESSAGE,
    IncidentLink,
    SpikeMessage,
    build_spikes_blocks,
    build_spikes_fallback,
)


def spike(name: str, *, expected: float = 0.5, incident: IncidentLink | None = None) -> SpikeMessage:
    return SpikeMessage(
        dimension="topic",
        name=name,
        window="1h",
        observed=14,
        total=20,
        expected=expected,
        share=0.7,
        baseline_share=0.1,
        p_value=1e-6,
        examples=["The courier <b>lost</b> it", "Second quote", "Third quote"],
        incident=incident,
    )


def texts(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_several_spikes_are_one_message_with_a_heading_and_each_spike() -> None:
    blocks = build_spikes_blocks([spike("delivery"), spike("billing")])

    rendered = texts(blocks)
    assert blocks[0]["text"]["text"] == "*2 spikes of negative mentions*"  # type: ignore[index]
    assert "topic delivery" in rendered and "topic billing" in rendered
    assert "&lt;b&gt;lost&lt;/b&gt;" in rendered and "<b>" not in rendered  # customer text is escaped
    assert rendered.count("Third quote") == 0  # two quotes per spike when several share the message


def test_a_spike_names_its_incident_and_links_the_thread_once_posted() -> None:
    posted = IncidentLink(id=12, title="delivery", count=37, channel_id="C0123456789", ts="1700000000.123456")
    unposted = IncidentLink(id=13, title="billing", count=4)

    linked = texts(build_spikes_blocks([spike("delivery", incident=posted)]))
    unlinked = texts(build_spikes_blocks([spike("billing", incident=unposted)]))

    assert "<https://slack.com/archives/C0123456789/p1700000000123456|incident #12" in linked
    assert "37 mentions" in linked
    assert "incident #13" in unlinked and "slack.com/archives" not in unlinked


def test_an_empty_baseline_reads_usually_none_not_zero() -> None:
    assert "usually none" in build_spikes_fallback([spike("delivery", expected=0.0)])
    assert "usually 0.5" in texts(build_spikes_blocks([spike("delivery")]))


def test_too_many_spikes_end_in_a_count_in_blocks_and_fallback() -> None:
    many = [spike(f"topic{i}") for i in range(SPIKES_PER_MESSAGE + 3)]

    blocks = build_spikes_blocks(many)

    assert len(blocks) <= 50  # Slack's limit per message
    assert blocks[-1]["elements"][0]["text"] == "+3 more spikes"  # type: ignore[index]
    fallback = build_spikes_fallback(many, limit=300)
    assert len(fallback) <= 300 and fallback.endswith("more spikes")
    assert "topic0" in fallback


def test_no_spike_is_no_message() -> None:
    with pytest.raises(ValueError, match="at least one spike"):
        build_spikes_blocks([])
