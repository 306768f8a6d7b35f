"""Source-health transitions: one alert per episode, escalation to dark, recovery, and escaped messages."""

from __future__ import annotations

import json

import pytest

from notifier.health import (
    HealthTransition,
    announced_status,
    build_health_blocks,
    build_health_fallback,
    health_dedup_key,
    next_health_transition,
    parse_health_dedup_key,
)


@pytest.mark.parametrize(
    ("announced", "current", "expected"),
    [
        ("ok", "ok", None),
        ("ok", "degraded", "degraded"),
        ("ok", "dark", "dark"),
        ("degraded", "degraded", None),
        ("degraded", "dark", "dark"),
        ("degraded", "ok", "ok"),
        ("dark", "dark", None),
        ("dark", "degraded", None),
        ("dark", "ok", "ok"),
    ],
)
def test_only_transitions_that_matter_alert(announced: str, current: str, expected: str | None) -> None:
    transition = next_health_transition(announced, current, sequence=4)
    assert (transition.status if transition else None) == expected
    if transition is not None:
        assert transition.sequence == 5


def test_dedup_keys_round_trip_and_the_first_state_is_ok() -> None:
    key = health_dedup_key(7, HealthTransition(status="dark", sequence=3))
    assert key == "health:7:3:dark"
    assert parse_health_dedup_key(key) == (3, "dark")
    assert announced_status(None) == (0, "ok")
    assert announced_status("mention:12") == (0, "ok")
    with pytest.raises(ValueError):
        next_health_transition("ok", "purple", sequence=0)


def test_site_supplied_reasons_are_escaped() -> None:
    transition = HealthTransition(status="degraded", sequence=1)
    reason = "last run failed: <!channel> <http://evil|click>"
    blocks = json.dumps(build_health_blocks("forum", "rss", transition, reason))
    assert "<!channel>" not in blocks and "&lt;!channel&gt;" in blocks
    assert build_health_fallback("forum", transition, reason).startswith(
        "Source degraded: `forum` (last run failed: &lt;"
    )
    assert "recovered" in build_health_fallback("forum", HealthTransition(status="ok", sequence=2), "ok")
