"""Clause splitting: punctuation (Latin and CJK) and contrast words end clauses; fragments are kept sane."""

from __future__ import annotations

import pytest

from sentiment.clauses import split_clauses


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("food great, but the delivery took two hours", ["food great", "the delivery took two hours"]),
        ("快递太慢了，客服态度很差，再也不买了", ["快递太慢了", "客服态度很差", "再也不买了"]),
        ("房间很干净，但是前台服务很差。", ["房间很干净", "前台服务很差"]),
        ("价格便宜却质量很差", ["价格便宜", "质量很差"]),
        ("Der Service war freundlich, aber langsam.", ["Der Service war freundlich", "langsam"]),
        (
            "The room was nice. However the breakfast was cold!",
            ["The room was nice", "the breakfast was cold"],
        ),
    ],
)
def test_contrast_and_punctuation_split_clauses(text: str, clauses: list[str]) -> None:
    assert split_clauses(text) == clauses


def test_words_containing_a_contrast_word_do_not_split() -> None:
    assert split_clauses("The button broke") == ["The button broke"]
    assert split_clauses("不但便宜而且好用") == ["不但便宜而且好用"]  # 不但 = "not only", not 但 = "but"


def test_decimal_points_and_domains_are_not_sentence_ends() -> None:
    assert split_clauses("Rated 3.5 stars on example.com today") == ["Rated 3.5 stars on example.com today"]


def test_a_short_opening_fragment_joins_the_next_clause() -> None:
    assert split_clauses("Well, it is ok. Fine overall") == ["Well it is ok", "Fine overall"]


def test_text_without_letters_has_no_clauses_and_one_word_is_one_clause() -> None:
    assert split_clauses("😡😡😡 !!!") == []
    assert split_clauses("   ") == []
    assert split_clauses("lol") == ["lol"]
