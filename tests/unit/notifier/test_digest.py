"""Pure parts of the digest: statistics, ISO weeks, the digest build and its renderers' limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from notifier.digest import (
    DigestOptions,
    IsoWeek,
    Quote,
    SentimentCell,
    SurveyCell,
    TopicCount,
    WeekData,
    build_digest,
    build_digest_blocks,
    build_digest_fallback,
    render_csv,
    render_html,
    stats,
)


def test_nps_counts_promoters_9_10_minus_detractors_0_6() -> None:
    # 3 promoters, 2 passives, 5 detractors of 10 → 30 % − 50 % = −20.
    assert stats.nps({10: 2, 9: 1, 8: 1, 7: 1, 6: 3, 0: 2}) == pytest.approx(-20.0)
    assert stats.nps({}) is None


def test_csat_is_the_share_of_4_and_5_and_ces_the_mean() -> None:
    assert stats.csat({5: 1, 4: 2, 3: 1}) == pytest.approx(75.0)
    assert stats.ces({1: 1, 4: 2, 7: 1}) == pytest.approx(4.0)
    assert stats.csat({}) is None and stats.ces({}) is None


def test_net_sentiment_and_share_are_unknown_without_mentions() -> None:
    assert stats.net_sentiment(negative=3, neutral=5, positive=2) == pytest.approx(-0.1)
    assert stats.net_sentiment(0, 0, 0) is None
    assert stats.share(0, 0) is None


@pytest.mark.parametrize(
    ("successes", "total", "expected"),
    [
        (6, 10, (0.3127, 0.8318)),
        (0, 10, (0.0, 0.2775)),  # the interval stays inside [0, 1] at 0 %
        (20, 20, (0.8389, 1.0)),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, total: int, expected: tuple[float, float]
) -> None:
    assert stats.wilson_interval(successes, total) == pytest.approx(expected, abs=1e-4)


def test_mix_shift_and_within_source_change() -> None:
    # Last week: A 80 (40 negative = 50 %), B 20 (2 = 10 %); this week: A 20 (12 = 60 %), B 80 (16 = 20 %).
    before = {"A": (40, 80), "B": (2, 20)}
    now = {"A": (12, 20), "B": (16, 80)}
    assert stats.mix_shift({k: a for k, (_, a) in before.items()}, {k: a for k, (_, a) in now.items()}) == (
        pytest.approx(0.6)
    )
    # Within: (20·(+0.10) + 80·(+0.10)) / 100 = +0.10, while overall went 42 % → 28 % (−0.14).
    assert stats.within_source_change(before, now) == pytest.approx(0.10)


def test_iso_weeks_parse_bound_in_the_local_zone_and_know_the_last_complete_one() -> None:
    week = IsoWeek.parse("2026-W47")
    assert str(week) == "2026-W47" and str(week.minus(47)) == "2025-W52"
    assert week.bounds("UTC") == (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    assert week.bounds("Asia/Shanghai")[0] == datetime(2026, 11, 15, 16, tzinfo=UTC)
    assert IsoWeek.last_complete(datetime(2026, 11, 23, 0, 30, tzinfo=UTC)) == week
    assert IsoWeek.last_complete(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)) == IsoWeek(2026, 46)
    with pytest.raises(ValueError, match="YYYY-Www"):
        IsoWeek.parse("2026-47")


def _week(cells: list[SentimentCell], **extra: object) -> WeekData:
    return WeekData(
        week="2026-W47",
        start=datetime(2026, 11, 16, tzinfo=UTC),
        end=datetime(2026, 11, 23, tzinfo=UTC),
        timezone="UTC",
        touchpoints=[("delivery", "receive"), ("support", "get_help")],
        sentiment=cells,
        trend_weeks=[f"2026-W{n}" for n in range(47, 39, -1)],
        **extra,  # type: ignore[arg-type]
    )


def test_mix_effect_is_flagged_when_the_source_mix_moved_with_enough_mentions() -> None:
    cells = [
        SentimentCell(1, "delivery", "A", "negative", 40),
        SentimentCell(1, "delivery", "A", "positive", 40),
        SentimentCell(1, "delivery", "B", "negative", 2),
        SentimentCell(1, "delivery", "B", "positive", 18),
        SentimentCell(0, "delivery", "A", "negative", 12),
        SentimentCell(0, "delivery", "A", "positive", 8),
        SentimentCell(0, "delivery", "B", "negative", 16),
        SentimentCell(0, "delivery", "B", "positive", 64),
    ]
    digest = build_digest(_week(cells))
    assert digest.mix.flagged
    assert digest.mix.overall_change == pytest.approx(0.28 - 0.42)
    blocks = json.dumps(build_digest_blocks(digest))
    assert "within sources +10.0 pts" in blocks and "overall negative share -14.0 pts" in blocks


def test_small_samples_are_flagged_but_empty_touchpoints_are_not() -> None:
    digest = build_digest(
        _week([SentimentCell(0, "delivery", "A", "negative", 3)]), DigestOptions(min_mentions=20)
    )
    delivery, support = digest.rows
    assert delivery.small_n and not support.small_n
    assert ":warning:" in json.dumps(build_digest_blocks(digest))


def test_blocks_stay_within_slack_limits_with_many_long_quotes_and_touchpoints() -> None:
    long_quote = "<@U1> " + "very long complaint & more " * 400
    touchpoints = [(f"touchpoint-{n}", "use") for n in range(60)]
    cells = [SentimentCell(0, name, "A", "negative", 25) for name, _ in touchpoints]
    topics = [TopicCount(0, f"topic {n}", 30 - n) for n in range(20)]
    quotes = {f"topic {n}": [Quote(long_quote, "javascript:alert(1)", "src")] * 3 for n in range(20)}
    data = _week(cells, topics=topics, quotes=quotes)
    data = WeekData(**{**data.__dict__, "touchpoints": touchpoints})
    blocks = build_digest_blocks(build_digest(data, DigestOptions(top_topics=20)))
    assert len(blocks) <= 50
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= 3000
        assert "<@U1>" not in text
    assert "javascript:" not in json.dumps(blocks)  # not a link, and not shown


def test_csv_neutralises_formulas_in_names() -> None:
    data = _week([SentimentCell(0, "=HYPERLINK(1)", "A", "negative", 1)])
    data = WeekData(**{**data.__dict__, "touchpoints": [("=HYPERLINK(1)", "use")]})
    text = render_csv(build_digest(data))
    assert "'=HYPERLINK(1)" in text
    assert ",-1," in text  # a negative number stays a number


def test_a_week_is_over_only_once_its_local_sunday_has_ended() -> None:
    week = IsoWeek(2026, 47)
    assert not week.is_over(datetime(2026, 11, 22, 23, 59, tzinfo=UTC))
    assert week.is_over(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    assert not week.is_over(datetime(2026, 11, 23, 7, 59, tzinfo=UTC), "America/Los_Angeles")  # 23:59 there
    assert week.is_over(datetime(2026, 11, 22, 15, 0, tzinfo=UTC), "Asia/Tokyo")  # Monday 00:00 there
    assert week.has_started(datetime(2026, 11, 16, 0, 0, tzinfo=UTC))
    assert not week.has_started(datetime(2026, 11, 15, 23, 59, tzinfo=UTC))


def test_a_partial_digest_says_so_in_slack_html_and_csv() -> None:
    until = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    data = _week([SentimentCell(0, "delivery", "A", "negative", 3)], partial_until=until)
    digest = build_digest(WeekData(**{**data.__dict__, "timezone": "Europe/Berlin"}))

    blocks = build_digest_blocks(digest)
    assert blocks[0]["text"]["text"] == "Weekly customer voice · 2026-W47 (partial)"
    assert blocks[2]["text"]["text"].startswith(
        ":warning: *Partial: up to 19 Nov 2026 13:00 (Europe/Berlin)."
    )
    assert build_digest_fallback(digest).startswith("Weekly customer voice 2026-W47 (partial): ")
    html = render_html(digest, b"")
    assert "<h1>Weekly customer voice · 2026-W47 (partial)</h1>" in html
    assert "Partial: up to 19 Nov 2026 13:00 (Europe/Berlin)." in html
    assert render_csv(digest).splitlines()[1].endswith(",2026-11-19T12:00:00Z")

    complete = build_digest(_week([SentimentCell(0, "delivery", "A", "negative", 3)]))
    assert build_digest_blocks(complete)[0]["text"]["text"] == "Weekly customer voice · 2026-W47"
    assert "Partial" not in json.dumps(build_digest_blocks(complete)) + render_html(complete, b"")
    assert render_csv(complete).splitlines()[1].endswith(",")


def test_a_week_is_empty_without_mentions_or_answers_of_its_own() -> None:
    last_weeks_answers = [SurveyCell(1, "delivery", "nps", 9, 4)]
    assert build_digest(_week([], surveys=last_weeks_answers)).is_empty
    assert not build_digest(_week([], surveys=[SurveyCell(0, "delivery", "nps", 9, 1)])).is_empty
    # Mentions that await analysis: not empty, the digest says the analysis is behind.
    assert not build_digest(_week([SentimentCell(0, "delivery", "A", None, 2)])).is_empty
