"""Incident grouping, growth state, sentiment trend and the stats round trip (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifier.incidents import (
    GrowthState,
    IncidentCandidate,
    IncidentKnobs,
    IncidentStats,
    OpenIncident,
    candidate_keys,
    growth_state,
    match_incident,
    sentiment_trend,
    simhash,
    story_key,
)
from storage.enums import Severity

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KNOBS = IncidentKnobs(window_s=3600, growing_at=3, critical_count=5, quiet_after_s=1800, resolve_after_s=7200)


def cand(minutes: float = 0, **kwargs: object) -> IncidentCandidate:
    values: dict[str, object] = {"at": T0 + timedelta(minutes=minutes), "text": "my parcel is late", **kwargs}
    return IncidentCandidate(**values)  # type: ignore[arg-type]


def incident(ident: int, *candidates: IncidentCandidate) -> OpenIncident:
    stats = IncidentStats()
    for c in candidates:
        stats = stats.add(c)
    assert stats.last_at is not None
    return OpenIncident(id=ident, last_mention_at=stats.last_at, stats=stats)


def test_story_key_drops_query_fragment_and_trailing_slash() -> None:
    assert story_key("https://News.example/a/b/?utm=x#c") == "story:news.example/a/b"
    assert story_key("javascript:alert(1)") is None
    assert story_key("") is None


def test_candidate_keys_in_strength_order() -> None:
    keys = candidate_keys(cand(url="https://n.example/s", topics=("delivery",), touchpoint="receive"))
    assert keys == ("story:n.example/s", "topic:delivery", "touchpoint:receive")


def test_same_topic_within_window_joins() -> None:
    open_ = [incident(1, cand(topics=("delivery",)))]
    assert match_incident(cand(30, topics=("delivery",), text="other words"), open_, KNOBS) == open_[0]


def test_outside_the_window_opens_a_new_incident() -> None:
    open_ = [incident(1, cand(topics=("delivery",)))]
    assert match_incident(cand(61, topics=("delivery",)), open_, KNOBS) is None


def test_unrelated_mention_opens_a_new_incident() -> None:
    open_ = [incident(1, cand(topics=("delivery",), text="the courier threw my box"))]
    assert (
        match_incident(cand(5, topics=("price",), text="far too expensive for what it is"), open_, KNOBS)
        is None
    )


def test_near_duplicate_text_joins_without_shared_topic() -> None:
    text = "Globex support ignored my refund request for three weeks and nobody answers the phone"
    open_ = [incident(1, cand(text=text))]
    copy = "RT " + text
    assert match_incident(cand(5, text=copy), open_, KNOBS) == open_[0]


def test_same_story_url_beats_a_more_recent_topic_match() -> None:
    story = incident(1, cand(0, url="https://news.example/globex-leak", text="a"))
    topical = incident(2, cand(10, topics=("privacy",), text="b"))
    got = match_incident(
        cand(20, url="https://news.example/globex-leak?ref=x", topics=("privacy",), text="c"),
        [topical, story],
        KNOBS,
    )
    assert got == story


def test_among_equal_evidence_the_most_recent_incident_wins() -> None:
    older = incident(1, cand(0, touchpoint="delivery", text="a"))
    newer = incident(2, cand(10, touchpoint="delivery", text="b"))
    assert match_incident(cand(20, touchpoint="delivery", text="c"), [older, newer], KNOBS) == newer


def test_closed_incident_is_never_joined() -> None:
    closed = incident(1, cand(topics=("delivery",)))
    closed = OpenIncident(
        closed.id, closed.last_mention_at, IncidentStats(**{**closed.stats.__dict__, "closed": True})
    )
    assert match_incident(cand(1, topics=("delivery",)), [closed], KNOBS) is None


def test_simhash_of_near_duplicates_is_close_and_of_unrelated_texts_far() -> None:
    a = simhash("the app crashes every time I open the settings page on my phone")
    b = simhash("the app crashes every time I open the settings page on my phone!!")
    c = simhash("delivery was three days late and the box was crushed")
    assert (a ^ b).bit_count() <= 3
    assert (a ^ c).bit_count() > 10


@pytest.mark.parametrize(
    ("count", "severity", "silent_min", "state"),
    [
        (1, Severity.WARNING, 0, GrowthState.NEW),
        (3, Severity.WARNING, 0, GrowthState.GROWING),
        (5, Severity.WARNING, 0, GrowthState.CRITICAL),
        (1, Severity.CRITICAL, 0, GrowthState.CRITICAL),
        (5, Severity.WARNING, 30, GrowthState.QUIET),
        (5, Severity.WARNING, 120, GrowthState.RESOLVED),
    ],
)
def test_growth_state(count: int, severity: Severity, silent_min: int, state: GrowthState) -> None:
    stats = IncidentStats()
    for i in range(count):
        stats = stats.add(cand(i * 0.1, severity=severity))
    assert stats.last_at is not None
    assert growth_state(stats, now=stats.last_at + timedelta(minutes=silent_min), knobs=KNOBS) == state


def test_closed_stats_are_resolved() -> None:
    stats = IncidentStats(closed=True).add(cand())
    assert growth_state(stats, now=T0, knobs=KNOBS) == GrowthState.RESOLVED


@pytest.mark.parametrize(
    ("scores", "trend"),
    [
        ((0.8, 0.8, 0.9), "steady"),
        ((0.7, 0.7, 0.9, 0.9), "worsening"),
        ((0.95, 0.95, 0.8, 0.8), "easing"),
        ((0.8, 0.82, 0.81, 0.83), "steady"),
    ],
)
def test_sentiment_trend(scores: tuple[float, ...], trend: str) -> None:
    assert sentiment_trend(scores) == trend


def test_stats_accumulate_and_round_trip_through_json() -> None:
    stats = IncidentStats(held_back=2)
    stats = stats.add(cand(0, topics=("delivery",), touchpoint="receive", reach_raw=100, p_negative=0.8))
    stats = stats.add(
        cand(5, topics=("delivery", "support"), reach_raw=50, p_negative=0.9, severity=Severity.CRITICAL)
    )
    assert stats.count == 2
    assert stats.reach_raw == 150
    assert stats.first_at == T0 and stats.last_at == T0 + timedelta(minutes=5)
    assert stats.max_severity == Severity.CRITICAL
    assert stats.topics == ("delivery", "support")
    assert stats.touchpoint == "receive"
    assert stats.p_negatives == (0.8, 0.9)
    assert IncidentStats.from_json(stats.to_json()) == stats


def test_bad_knobs_are_rejected() -> None:
    with pytest.raises(ValueError):
        IncidentKnobs(quiet_after_s=100, resolve_after_s=50)
    with pytest.raises(ValueError):
        IncidentKnobs(growing_at=5, critical_count=3)


def test_many_story_urls_never_evict_the_topic_key() -> None:
    stats = IncidentStats()
    for n in range(80):
        stats = stats.add(
            cand(n * 0.1, topics=("app_bugs",), url=f"https://apps.example/r/{n}", text=f"crash {n}")
        )
    assert "topic:app_bugs" in stats.keys
    assert len(stats.stories) == 50
    assert stats.last_at is not None
    open_ = [OpenIncident(1, stats.last_at, stats)]
    assert (
        match_incident(cand(9, topics=("app_bugs",), text="unrelated words here"), open_, KNOBS) == open_[0]
    )
