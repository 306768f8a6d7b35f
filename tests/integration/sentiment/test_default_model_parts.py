"""Topics, aspect sentiment and churn on the real default model: hand-written cases with obvious answers.

Marked `model` (see test_default_model.py); one analyzer for the run (`default_analyzer`), so the taxonomy
is embedded once.
"""

from __future__ import annotations

import pytest

from sentiment import Analyzer, SentimentLabel

NEG, POS = SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE
MIXED = [
    "The food was delicious, but the delivery was terribly slow.",
    "菜很好吃，但是配送太慢了，等了两个小时。",
]


@pytest.fixture
def analyzer(default_analyzer: Analyzer) -> Analyzer:
    return default_analyzer


def test_a_mixed_review_is_positive_about_the_food_and_negative_about_delivery(analyzer: Analyzer) -> None:
    for result in analyzer.analyze(MIXED):
        labels = {topic.topic: topic.label for topic in result.topics}
        assert labels.get("product_quality") is POS, result.topics
        assert labels.get("delivery") is NEG, result.topics


def test_score_aspects_reads_each_aspect_from_its_own_clause(analyzer: Analyzer) -> None:
    pairs = [(text, aspect) for text in MIXED for aspect in ("food", "delivery")]
    best = [max(scores, key=scores.__getitem__) for scores in analyzer.score_aspects(pairs)]
    assert best == [POS, NEG, POS, NEG]


def test_topics_are_found_across_languages(analyzer: Analyzer) -> None:
    results = analyzer.analyze(
        ["I can't log into my account since the update", "Die App stürzt ständig ab", "客服一直不回复我"]
    )
    assert [r.topics[0].topic for r in results] == ["account_login", "app_bugs", "customer_support"]
    assert analyzer.analyze(["Happy birthday to my sister!"])[0].topics == ()


def test_leaving_is_a_churn_risk_in_any_language_and_a_complaint_alone_is_not(analyzer: Analyzer) -> None:
    leaving = analyzer.analyze(
        [
            "I'm cancelling my subscription and switching to a competitor.",
            "我要退订，已经卸载了，再也不用了。",
            "Je résilie mon abonnement, c'est fini avec vous.",
        ]
    )
    staying = analyzer.analyze(
        ["The store opens at nine on weekdays.", "Great coffee, I come here every week.", "配送员很慢"]
    )
    assert all(r.churn_risk is not None and r.churn_risk > 0.7 for r in leaving), leaving
    assert all(r.churn_risk is not None and r.churn_risk < 0.4 for r in staying), staying
