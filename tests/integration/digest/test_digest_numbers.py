"""The digest's numbers on the hand-built dataset (see `dataset.py` for the figures computed by hand).

Runs on SQLite and PostgreSQL (`db_url`).
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from notifier.digest import IsoWeek, TouchpointRow, WeeklyDigest
from tests.support.digest_dataset import HOSTILE, SETTINGS, WEEK
from vocwatch.stages.digest import compose_digest


def _row(digest: WeeklyDigest, touchpoint: str) -> TouchpointRow:
    return next(row for row in digest.rows if row.touchpoint == touchpoint)


def test_touchpoint_shares_net_and_deltas_match_the_hand_computed_figures(digest: WeeklyDigest) -> None:
    delivery = _row(digest, "delivery")
    assert (delivery.mentions, delivery.negative, delivery.neutral, delivery.positive) == (10, 6, 3, 1)
    assert delivery.share_negative == pytest.approx(0.6)
    assert delivery.net == pytest.approx(-0.5)
    assert delivery.share_negative_prev == pytest.approx(0.5)
    assert delivery.delta_negative_prev == pytest.approx(0.1)
    assert delivery.share_negative_4w == pytest.approx(0.375)
    assert delivery.delta_negative_4w == pytest.approx(0.225)
    assert delivery.net_4w == pytest.approx(0.125)
    assert delivery.negative_ci == pytest.approx((0.3127, 0.8318), abs=1e-4)
    assert not delivery.small_n
    assert delivery.churn_risk == 2

    support = _row(digest, "support")
    assert (support.mentions, support.unanalyzed, support.share_negative, support.net) == (4, 1, 0.25, 0.0)
    assert support.small_n
    assert support.share_negative_prev is None  # nothing last week: unknown, not 0 %


def test_rows_are_grouped_by_journey_stage_and_silent_touchpoints_still_show(digest: WeeklyDigest) -> None:
    assert [(stage, [r.touchpoint for r in rows]) for stage, rows in digest.stages] == [
        ("buy", ["checkout"]),
        ("receive", ["delivery"]),
        ("get_help", ["support"]),
    ]
    checkout = _row(digest, "checkout")
    assert (checkout.mentions, checkout.share_negative, checkout.small_n) == (0, None, False)
    assert (digest.total.mentions, digest.total.negative, digest.total.unanalyzed) == (14, 7, 1)


def test_survey_scores_and_their_weekly_change(digest: WeeklyDigest) -> None:
    scores = {(s.touchpoint, s.metric): s for s in digest.surveys}
    assert set(scores) == {("delivery", "nps"), ("delivery", "csat"), ("delivery", "ces")}
    nps = scores[("delivery", "nps")]
    assert (nps.value, nps.responses, nps.previous, nps.change) == (0.0, 5, 25.0, -25.0)
    assert scores[("delivery", "csat")].value == pytest.approx(200 / 3)
    assert scores[("delivery", "csat")].previous is None
    assert scores[("delivery", "ces")].value == pytest.approx(4.0)


def test_topics_quotes_incidents_churn_and_honesty_lines(digest: WeeklyDigest) -> None:
    assert [(t.topic, t.negative, t.previous, t.change) for t in digest.topics] == [
        ("late delivery", 4, 1, 3)
    ]
    assert [q.text for q in digest.topics[0].quotes] == [
        HOSTILE,
        "Parcel two weeks late",
        "Courier never came",
    ]
    assert [(i.title, i.mentions) for i in digest.incidents] == [("late delivery", 4)]
    assert (digest.churn_risk, digest.churn_risk_prev) == (2, 0)
    assert digest.held_back == {"#cx-alerts": 2}
    assert digest.model_versions == {"m1": 13, "m2": 1}
    assert digest.taxonomy_version == "tax-a (14)"
    coverage = {line.source: (line.status, line.items, line.usual) for line in digest.coverage}
    assert coverage == {"forum": ("dark", 0, None), "shop": ("ok", 10, 10.0)}
    assert digest.mix.overall_change == pytest.approx(0.0)
    assert digest.mix.within_change == pytest.approx(0.1)
    assert digest.mix.shift == pytest.approx(4 / 14)
    assert not digest.mix.flagged  # last week had 4 analyzed mentions: below min_mentions


def test_trend_covers_eight_weeks_oldest_first(digest: WeeklyDigest) -> None:
    assert [label for label, _ in digest.trend] == [f"2026-W{n}" for n in range(40, 48)]
    shares = dict(digest.trend)
    assert shares["2026-W42"] == 1.0
    assert shares["2026-W44"] is None
    assert shares["2026-W47"] == pytest.approx(0.5)


def test_same_command_same_numbers(sessions: sessionmaker[Session], digest: WeeklyDigest) -> None:
    again, chart = compose_digest(sessions, WEEK, SETTINGS)
    assert again == digest
    assert chart == compose_digest(sessions, WEEK, SETTINGS)[1]


def test_a_week_without_data_renders_with_unknown_shares(sessions: sessionmaker[Session]) -> None:
    empty, chart = compose_digest(sessions, IsoWeek(2027, 10), SETTINGS)
    assert empty.is_empty
    assert all(row.mentions == 0 and row.share_negative is None for row in empty.rows)
    assert empty.topics == [] and empty.surveys == [] and empty.incidents == []
    assert empty.taxonomy_version.startswith("2 topics · ")  # the stored taxonomy, said to be so
    assert empty.taxonomy_version.endswith("(configured; not recorded on analyses)")
    assert chart.startswith(b"\x89PNG")
