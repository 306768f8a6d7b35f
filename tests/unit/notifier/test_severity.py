"""The severity formula against values computed by hand (see notifier/severity.py for the formula)."""

from __future__ import annotations

import math

import pytest

from notifier.severity import MentionSignals, SeverityKnobs, level_for, reach_score, score_severity
from storage.enums import Severity

KNOBS = SeverityKnobs()  # weights 0.4 / 0.15 / 0.3 / 0.15, saturation 100k, warning 0.45, critical 0.75


def test_sentiment_alone_with_unknown_reach_counts_reach_as_zero() -> None:
    # (0.4·0.9 + 0.3·0) / (0.4 + 0.3) = 0.36 / 0.7
    result = score_severity(MentionSignals(p_negative=0.9), KNOBS)
    assert result.score == pytest.approx(0.5142857, abs=1e-6)
    assert result.level is Severity.WARNING
    assert result.reach == 0.0


def test_all_components_known() -> None:
    # reach = ln(1000) / ln(100001) = 6.907755 / 11.512935 = 0.599999
    # (0.4·0.8 + 0.15·(1−0.2) + 0.3·0.6 + 0.15·0.5) / 1.0 = 0.32 + 0.12 + 0.18 + 0.075 = 0.695
    signals = MentionSignals(p_negative=0.8, rating=0.2, churn_risk=0.5, followers=999)
    result = score_severity(signals, KNOBS)
    assert result.reach == pytest.approx(0.599999, abs=1e-5)
    assert result.score == pytest.approx(0.695, abs=1e-5)
    assert result.level is Severity.WARNING


def test_topic_weight_takes_the_loudest_topic_and_source_weight_multiplies() -> None:
    knobs = SeverityKnobs(topic_weights={"billing": 1.2, "packaging": 0.5}, source_weights={"press": 1.1})
    signals = MentionSignals(p_negative=0.8, rating=0.2, churn_risk=0.5, followers=999)
    # 0.695 · 1.2 = 0.834 → critical; with the source: 0.834 · 1.1 = 0.9174
    billing = score_severity(
        MentionSignals(**{**signals.__dict__, "topics": ("packaging", "billing")}), knobs
    )
    assert billing.score == pytest.approx(0.834, abs=1e-5)
    assert billing.level is Severity.CRITICAL
    press = score_severity(
        MentionSignals(**{**signals.__dict__, "topics": ("billing",), "source": "press"}), knobs
    )
    assert press.score == pytest.approx(0.9174, abs=1e-5)


def test_score_is_capped_at_one() -> None:
    knobs = SeverityKnobs(topic_weights={"safety": 3.0})
    assert score_severity(MentionSignals(p_negative=1.0, topics=("safety",)), knobs).score == 1.0


def test_engagement_is_weighted_into_reach() -> None:
    # followers 0 + 2·10 (score) + 5·2 (replies) + 10·3 (reposts) = 60
    reach, raw = reach_score(MentionSignals(p_negative=0.5, score=10, replies=2, reposts=3), KNOBS)
    assert raw == 60.0
    assert reach == pytest.approx(math.log1p(60) / math.log1p(100_000))


def test_reach_saturates_at_one_and_ignores_negative_scores() -> None:
    big, _ = reach_score(MentionSignals(p_negative=0.5, followers=10_000_000), KNOBS)
    assert big == 1.0
    _, raw = reach_score(MentionSignals(p_negative=0.5, score=-40), KNOBS)
    assert raw == 0.0


def test_a_famous_author_makes_a_plain_negative_critical() -> None:
    # reach = ln(50001)/ln(100001) = 0.939795; (0.36 + 0.3·0.939795)/0.7 = 0.917055
    result = score_severity(MentionSignals(p_negative=0.9, followers=50_000), KNOBS)
    assert result.score == pytest.approx(0.917055, abs=1e-5)
    assert result.level is Severity.CRITICAL


@pytest.mark.parametrize(
    ("score", "level"),
    [(0.0, Severity.INFO), (0.4499, Severity.INFO), (0.45, Severity.WARNING), (0.75, Severity.CRITICAL)],
)
def test_thresholds_are_inclusive(score: float, level: Severity) -> None:
    assert level_for(score, KNOBS) is level


@pytest.mark.parametrize(
    "kwargs",
    [
        {"warning_at": 0.8, "critical_at": 0.5},
        {"sentiment_weight": -1.0},
        {"sentiment_weight": 0.0, "reach_weight": 0.0},
        {"reach_saturation": 0.0},
        {"topic_weights": {"x": -1.0}},
    ],
)
def test_bad_knobs_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SeverityKnobs(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["p_negative", "rating", "churn_risk"])
def test_values_outside_unit_interval_raise(field: str) -> None:
    values = {"p_negative": 0.5, field: 1.5}
    with pytest.raises(ValueError, match=field):
        score_severity(MentionSignals(**values), KNOBS)  # type: ignore[arg-type]
