"""Aspect rules on hand-made clause scores: each topic gets the sentiment of the clauses about it."""

from __future__ import annotations

import numpy as np

from sentiment.aspects import aspect_probabilities, aspect_query, topics_for_text
from sentiment.types import SentimentLabel

NEG, NEU, POS = (0.8, 0.15, 0.05), (0.1, 0.8, 0.1), (0.05, 0.15, 0.8)


def test_a_mixed_review_gets_one_label_per_topic() -> None:
    # row 0: whole text; rows 1-2: "food great" / "delivery took two hours"
    scores = np.array([[0.5, 0.6], [0.9, 0.0], [0.1, 1.0]], dtype=np.float32)
    probabilities = np.array([NEU, POS, NEG], dtype=np.float32)

    topics = topics_for_text([0, 1, 2], scores, probabilities, ("food", "delivery"), threshold=0.3)

    assert [(t.topic, t.label) for t in topics] == [
        ("delivery", SentimentLabel.NEGATIVE),
        ("food", SentimentLabel.POSITIVE),
    ]
    assert [t.score for t in topics] == [1.0, 0.9]


def test_topics_below_threshold_are_left_out_and_one_clause_texts_use_the_text() -> None:
    scores = np.array([[0.2, 0.7]], dtype=np.float32)
    probabilities = np.array([NEG], dtype=np.float32)

    topics = topics_for_text([0], scores, probabilities, ("food", "billing"), threshold=0.3)

    assert [(t.topic, t.label) for t in topics] == [("billing", SentimentLabel.NEGATIVE)]


def test_a_topic_found_only_in_the_whole_text_takes_its_sentiment() -> None:
    scores = np.array([[0.8], [0.1], [0.2]], dtype=np.float32)
    probabilities = np.array([POS, NEG, NEU], dtype=np.float32)
    topics = topics_for_text([0, 1, 2], scores, probabilities, ("service",), threshold=0.3)
    assert topics[0].label is SentimentLabel.POSITIVE


def test_aspect_sentiment_follows_the_most_similar_clause() -> None:
    clause_vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    clause_probabilities = np.array([POS, NEG], dtype=np.float32)
    whole = np.array(NEU, dtype=np.float32)

    food = aspect_probabilities(
        "food", np.array([0.9, 0.1], np.float32), whole, clause_vectors, clause_probabilities
    )
    delivery = aspect_probabilities(
        "delivery", np.array([0.1, 0.9], np.float32), whole, clause_vectors, clause_probabilities
    )

    assert food.argmax() == 2 and delivery.argmax() == 0
    assert abs(float(food.sum()) - 1.0) < 1e-5


def test_general_aspects_and_one_clause_texts_take_the_whole_text() -> None:
    clause_vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    clause_probabilities = np.array([POS, NEG], dtype=np.float32)
    whole = np.array(NEU, dtype=np.float32)
    vector = np.array([1.0, 0.0], np.float32)
    general = aspect_probabilities(
        "anecdotes/miscellaneous", vector, whole, clause_vectors, clause_probabilities
    )
    assert general is whole
    assert aspect_probabilities("food", vector, whole, clause_vectors[:1], clause_probabilities[:1]) is whole
    assert aspect_query("anecdotes/miscellaneous") == "anecdotes or miscellaneous"
