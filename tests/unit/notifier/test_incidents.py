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
    growth_state,
    incident_key,
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


def test_story_key_drops_tracking_fragment_and_trailing_slash() -> None:
    assert story_key("https://www.News.example:443/a/b/?utm_source=x&fbclid=y#c") == "story:news.example/a/b"
    assert story_key("https://forum.example/viewtopic.php?t=12&utm_medium=mail") == (
        "story:forum.example/viewtopic.php?t=12"  # the thread id is what the page is
    )
    assert story_key("https://shop.example/p?b=2&a=1") == story_key("https://shop.example/p?a=1&b=2")
    assert (
        story_key("https://news.example/leak?c=5&sort=new") == "story:news.example/leak"
    )  # a comment anchor
    assert story_key("javascript:alert(1)") is None
    assert story_key("http://[::1") is None  # unparseable
    assert story_key("") is None


@pytest.mark.parametrize(
    ("url", "other", "key"),
    [
        (
            "https://news.ycombinator.com/item?id=41",
            "https://news.ycombinator.com/item?id=42",
            "story:news.ycombinator.com/item?id=41",
        ),
        (
            "https://www.youtube.com/watch?v=abc&t=30s&list=PL1",
            "https://m.youtube.com/watch?v=xyz",
            "story:youtube.com/watch?v=abc",
        ),
    ],
)
def test_story_key_keeps_the_parameter_that_names_the_item(url: str, other: str, key: str) -> None:
    assert story_key(url) == key
    assert story_key(other) != key  # another item of the same site is another story


def test_a_page_every_review_links_to_is_no_story() -> None:
    # Every App Store review of an app in a country links to the same review page.
    assert story_key("https://itunes.apple.com/jp/review?id=1404176564&type=Purple%20Software") is None
    assert story_key("https://apps.apple.com/us/app/globex/id1404176564") == (
        "story:apps.apple.com/us/app/globex/id1404176564"
    )


def test_incident_key_names_the_theme_else_the_story_else_the_text() -> None:
    assert (
        incident_key(cand(topics=("delivery", "billing"), touchpoint="receive")) == "topic:delivery@receive"
    )
    assert incident_key(cand(url="https://n.example/s")) == "story:n.example/s"
    assert incident_key(cand()).startswith("text:")


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
    older = incident(1, cand(0, topics=("delivery",), touchpoint="receive", text="a"))
    newer = incident(2, cand(10, topics=("delivery",), touchpoint="receive", text="b"))
    late = cand(20, topics=("delivery",), touchpoint="receive", text="c")
    assert match_incident(late, [older, newer], KNOBS) == newer


def test_a_shared_touchpoint_alone_is_no_relation() -> None:
    crashes = incident(
        1, cand(0, topics=("app_bugs",), touchpoint="product", text="the app crashes on start")
    )
    quality = cand(5, topics=("product_quality",), touchpoint="product", text="the kettle broke in a week")
    untagged = cand(6, touchpoint="product", text="worst purchase of my life honestly")
    assert match_incident(quality, [crashes], KNOBS) is None
    assert match_incident(untagged, [crashes], KNOBS) is None


def test_the_same_topic_at_another_touchpoint_is_another_story() -> None:
    billing = incident(1, cand(0, topics=("billing",), touchpoint="renewal", text="charged twice"))
    assert (
        match_incident(cand(5, topics=("billing",), touchpoint="buy", text="price"), [billing], KNOBS) is None
    )


def test_a_topic_the_incident_picked_up_later_never_pulls_mentions_in() -> None:
    # A billing incident takes one mention about billing AND delivery; delivery complaints stay apart.
    stats = IncidentStats().add(cand(0, topics=("billing",), touchpoint="renewal", text="double charge"))
    stats = stats.add(
        cand(1, topics=("billing", "delivery"), touchpoint="renewal", text="charged, never came")
    )
    billing = OpenIncident(1, T0 + timedelta(minutes=1), stats)
    assert stats.topic == "billing" and stats.topics == ("billing", "delivery")
    late = cand(5, topics=("delivery",), touchpoint="renewal", text="the courier lost it")
    assert match_incident(late, [billing], KNOBS) is None


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
    assert stats.topic == "delivery"
    assert stats.touchpoint == "receive"
    assert stats.p_negatives == (0.8, 0.9)
    assert IncidentStats.from_json(stats.to_json()) == stats


def test_bad_knobs_are_rejected() -> None:
    with pytest.raises(ValueError):
        IncidentKnobs(quiet_after_s=100, resolve_after_s=50)
    with pytest.raises(ValueError):
        IncidentKnobs(growing_at=5, critical_count=3)


def test_many_story_urls_never_change_the_theme() -> None:
    stats = IncidentStats()
    for n in range(80):
        stats = stats.add(
            cand(n * 0.1, topics=("app_bugs",), url=f"https://apps.example/r/{n}", text=f"crash {n}")
        )
    assert stats.topic == "app_bugs"
    assert len(stats.stories) == 50
    assert stats.last_at is not None
    open_ = [OpenIncident(1, stats.last_at, stats)]
    assert (
        match_incident(cand(9, topics=("app_bugs",), text="unrelated words here"), open_, KNOBS) == open_[0]
    )


def test_publication_times_are_kept_beside_arrival_times() -> None:
    posted = T0 - timedelta(days=2)
    stats = IncidentStats().add(cand(0, published_at=posted + timedelta(hours=5)))
    stats = stats.add(cand(1, published_at=posted))
    stats = stats.add(cand(2))  # a source without dates

    assert (stats.published_first, stats.published_last) == (posted, posted + timedelta(hours=5))
    assert (stats.first_at, stats.last_at) == (T0, T0 + timedelta(minutes=2))  # what quiet/resolved follow
    assert IncidentStats.from_json(stats.to_json()) == stats


def unit(*values: float) -> tuple[float, ...]:
    norm = sum(v * v for v in values) ** 0.5
    return tuple(v / norm for v in values)


def test_one_topic_two_meanings_are_two_stories() -> None:
    renewal = unit(1.0, 0.1, 0.0)
    prices = unit(0.3, 1.0, 0.0)  # cosine ~0.38 to renewal: another story on the same topic
    billing = incident(1, cand(0, topics=("billing",), touchpoint="renewal", embedding=renewal, text="a b c"))

    same = cand(5, topics=("billing",), touchpoint="renewal", embedding=unit(1.0, 0.12, 0.01), text="d e f")
    other = cand(6, topics=("billing",), touchpoint="renewal", embedding=prices, text="g h i")

    assert match_incident(same, [billing], KNOBS) == billing
    assert match_incident(other, [billing], KNOBS) is None


def test_the_same_meaning_joins_without_a_topic_but_never_across_touchpoints() -> None:
    rude = unit(0.2, 0.0, 1.0)
    staff = incident(
        1, cand(0, topics=("staff_attitude",), touchpoint="support", embedding=rude, text="x y z")
    )
    untagged = cand(5, touchpoint="support", embedding=unit(0.21, 0.0, 1.0), text="el personal fue grosero")
    elsewhere = cand(6, touchpoint="delivery", embedding=rude, text="u v w")

    assert match_incident(untagged, [staff], KNOBS) == staff
    assert match_incident(elsewhere, [staff], KNOBS) is None


def test_the_theme_decides_alone_where_no_embedding_is_known() -> None:
    known = incident(
        1, cand(0, topics=("delivery",), touchpoint="receive", embedding=unit(1.0, 0.0), text="a")
    )
    assert (
        match_incident(cand(5, topics=("delivery",), touchpoint="receive", text="b"), [known], KNOBS) == known
    )
    stats = IncidentStats.from_json(known.stats.to_json())
    assert stats.meaning == tuple(round(x, 4) for x in known.stats.meaning)
