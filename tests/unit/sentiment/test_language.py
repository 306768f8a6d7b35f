"""Language detection and reliability flags on hand-written texts."""

from __future__ import annotations

import pytest

from sentiment.language import detect_language, read_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("快递太慢了，客服态度很差", "zh"),
        ("すごく良い商品です", "ja"),
        ("배송이 너무 느려요", "ko"),
        ("Der Service war freundlich, aber langsam.", "de"),
        ("Le colis est arrivé en retard", "fr"),
        ("Llegó tarde y roto", "es"),
        ("The package arrived late and the box was crushed.", "en"),
    ],
)
def test_language_of_ordinary_sentences(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_unsure_guesses_are_reported_as_unknown() -> None:
    assert detect_language("ok") is None
    assert detect_language("Terrible service") is None  # fr, it and en are about as likely


def test_a_clear_english_review_is_reliable() -> None:
    reading = read_language("The package arrived late and the box was crushed.")
    assert reading.reliable and reading.flags == ()


def test_flags_name_what_the_model_reads_badly() -> None:
    assert read_language("😡😡😡").flags == ("emoji_only",)
    assert "very_short" in read_language("ok").flags
    assert "very_short" in read_language("还行").flags
    assert "sarcasm_cue" in read_language("Oh great, another update that breaks everything 🙄").flags
    assert "sarcasm_cue" in read_language("呵呵，这服务真是服了").flags
    swahili = read_language("Huduma ilikuwa mbaya sana na chakula kilikuwa baridi")
    assert swahili.lang == "sw" and swahili.flags == ("weak_language",) and not swahili.reliable
