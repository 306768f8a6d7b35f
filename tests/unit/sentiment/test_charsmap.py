"""The compiled normalisation map behaves exactly like the per-codepoint map it was built from."""

from __future__ import annotations

from tokenizers import normalizers

from sentiment._charsmap import build_precompiled_charsmap

MAPPING = {
    0x3000: " ",  # ideographic space
    0xFF0C: ",",  # full-width comma
    0xFF01: "!",
    0xFB01: "fi",  # ligature -> two characters
    0x0007: "",  # control character removed
    0x2581: " ",  # the metaspace marker itself must not survive as text
    0x1D400: "A",  # 4-byte UTF-8 key
}


def _reference(text: str) -> str:
    return "".join(MAPPING.get(ord(c), c) for c in text)


def test_every_mapped_codepoint_is_replaced() -> None:
    normaliser = normalizers.Precompiled(build_precompiled_charsmap(MAPPING))
    for codepoint in MAPPING:
        text = f"a{chr(codepoint)}b"
        assert normaliser.normalize_str(text) == _reference(text)


def test_unmapped_text_is_left_alone() -> None:
    normaliser = normalizers.Precompiled(build_precompiled_charsmap(MAPPING))
    for text in ["plain ascii", "中文评论，很好", "émoji 😀 ok", "Ａ"]:
        assert normaliser.normalize_str(text) == _reference(text)


def test_full_sentence() -> None:
    normaliser = normalizers.Precompiled(build_precompiled_charsmap(MAPPING))
    assert normaliser.normalize_str("快递太慢了，客服\u3000很差！\u0007") == "快递太慢了,客服 很差!"


def test_an_empty_map_changes_nothing() -> None:
    normaliser = normalizers.Precompiled(build_precompiled_charsmap({}))
    assert normaliser.normalize_str("unchanged，") == "unchanged，"
