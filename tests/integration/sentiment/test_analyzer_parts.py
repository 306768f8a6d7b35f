"""Topics, churn, language, aspects and the int8 backend through the real analyzer, on MiniLM (fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment import Analyzer, SentimentLabel, load_analyzer
from sentiment.taxonomy import TopicDefinition, taxonomy_version

PARKING = TopicDefinition(
    name="parking",
    description="Parking at the store: no spaces, parking fees, the car park.",
    examples=("there was nowhere to park", "the parking lot is always full"),
    keywords=("car park",),
)
TAXONOMY = (
    PARKING,
    TopicDefinition(name="coffee", description="Coffee: taste, temperature, the espresso machine."),
)


@pytest.fixture(scope="module")
def analyzer(minilm_model_dir: Path, minilm_heads_dir: Path) -> Analyzer:
    return load_analyzer(minilm_model_dir, heads_dir=minilm_heads_dir, taxonomy=TAXONOMY)


def test_results_carry_language_flags_churn_and_keyword_topics(analyzer: Analyzer) -> None:
    clear, short, car_park = analyzer.analyze(
        [
            "The courier lost my parcel and customer service was rude to me on the phone.",
            "ok",
            "The car park was closed, but the staff were lovely.",
        ]
    )

    assert clear.lang == "en" and clear.reliable and clear.flags == ()
    assert not short.reliable and "very_short" in short.flags
    for result in (clear, short, car_park):
        assert result.churn_risk is not None and 0.0 <= result.churn_risk <= 1.0
        assert result.taxonomy_version == taxonomy_version(TAXONOMY) == analyzer.taxonomy_version
    assert "parking" in [topic.topic for topic in car_park.topics]
    assert all(topic.label in SentimentLabel for topic in car_park.topics)
    assert [t.score for t in car_park.topics] == sorted((t.score for t in car_park.topics), reverse=True)


def test_an_empty_taxonomy_turns_topics_off(minilm_model_dir: Path, minilm_heads_dir: Path) -> None:
    analyzer = load_analyzer(minilm_model_dir, heads_dir=minilm_heads_dir, taxonomy=())
    assert analyzer.analyze(["The car park was full and the coffee was cold."])[0].topics == ()


def test_score_aspects_gives_one_distribution_per_pair_in_order(analyzer: Analyzer) -> None:
    mixed = "The food was delicious and wonderful. The delivery was terribly slow and awful."

    scores = analyzer.score_aspects([(mixed, "food"), (mixed, "delivery"), ("Great value.", "price")])

    assert len(scores) == 3
    for distribution in scores:
        assert set(distribution) == set(SentimentLabel)
        assert sum(distribution.values()) == pytest.approx(1.0, abs=1e-5)
    food, delivery, _ = scores
    assert food[SentimentLabel.POSITIVE] > delivery[SentimentLabel.POSITIVE]
    assert analyzer.score_aspects([]) == []


def test_the_int8_backend_is_recorded_and_agrees_on_clear_cases(
    minilm_model_dir: Path, minilm_heads_dir: Path
) -> None:
    texts = [
        "The courier lost my parcel and customer service was rude. Never again.",
        "Lovely shop, the order came early and the quality is superb.",
    ]
    fp32 = load_analyzer(minilm_model_dir, heads_dir=minilm_heads_dir, taxonomy=())
    int8 = load_analyzer(minilm_model_dir, heads_dir=minilm_heads_dir, taxonomy=(), backend="int8")

    assert int8.model_version.replace("-int8+", "+") == fp32.model_version != int8.model_version
    assert [r.label for r in int8.analyze(texts)] == [r.label for r in fp32.analyze(texts)]


def test_without_the_clause_pass_topics_share_the_text_sentiment(
    minilm_model_dir: Path, minilm_heads_dir: Path
) -> None:
    analyzer = load_analyzer(minilm_model_dir, heads_dir=minilm_heads_dir, taxonomy=TAXONOMY, aspects=False)
    result = analyzer.analyze(["The car park was closed, but the coffee was lovely."])[0]
    assert result.topics and {topic.label for topic in result.topics} == {result.label}
