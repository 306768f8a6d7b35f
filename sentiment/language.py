"""Language of a mention and flags for texts the model reads badly.

Language comes from py3langid (a maintained fork of langid.py: a naive-Bayes model over byte n-grams,
shipped inside the wheel, ~1 ms a text, no download). Very short texts fool any n-gram detector, so an
unconfident guess is reported as unknown (`None`) rather than as a wrong language; text written mostly in
Han, kana or Hangul is decided by its script, which is certain where n-grams are not.

Flags say why a score deserves less trust, so that policy (in notifier) can send such mentions to review
instead of Slack: `very_short`, `emoji_only`, `sarcasm_cue`, `weak_language` (the heads were trained on
English and Chinese; the multilingual encoder transfers well to other widely written languages, less so
to the rest) and `unknown_language`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import regex
from py3langid.langid import LanguageIdentifier  # type: ignore[import-untyped]  # ships no py.typed

MIN_CONFIDENCE = 0.2
"""Below this normalised probability (over ~100 languages) the guess is noise: report `None`."""
MIN_LEAD = 2.5
"""The best must be this many times as likely as the runner-up ("Terrible service": fr, it, en)."""

STRONG_LANGUAGES = frozenset(
    {"en", "zh", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "ko", "pl", "sv", "da", "no", "tr", "id"}
)
"""Languages the model reads well: the heads' training languages (en, zh) and e5's largest ones."""

_WORD = regex.compile(r"[\p{L}\p{N}]+")
_CJK_CHAR = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_HANGUL = regex.compile(r"\p{Hangul}")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\u200d\ufe0f]")
_SARCASM = regex.compile(
    r"(?i)(?:^|\s)/s\b|\byeah,? right\b|\bthanks a lot\b|\boh,? (?:great|wonderful|perfect|fantastic)\b"
    r"|\bjust (?:great|perfect|wonderful|what i needed)\b|\bwhat a (?:surprise|joke)\b|\bsure,? because\b"
    r"|\bsuch (?:great|amazing) service\b|[🙄🙃😒]"
    r"|呵呵|真是服了|谢谢你全家|好棒棒|可真行|真厉害啊|\(笑\)|ｗｗ"
)

VERY_SHORT_WORDS = 3
"""Fewer words than this (or CJK characters than `VERY_SHORT_CJK_CHARS`) carry too little to score well."""
VERY_SHORT_CJK_CHARS = 4


@dataclass(frozen=True)
class LanguageReading:
    """Detected language (ISO 639-1, or `None` when unsure) and the flags that lower trust in a score."""

    lang: str | None
    flags: tuple[str, ...]

    @property
    def reliable(self) -> bool:
        """True when nothing about the text suggests the model misreads it."""
        return not self.flags


def read_language(text: str) -> LanguageReading:
    """Detect the language and collect the reliability flags for one text."""
    words = _WORD.findall(text)
    cjk = len(_CJK_CHAR.findall(text))
    lang = detect_language(text) if words else None
    flags: list[str] = []
    if not words:
        if _EMOJI.search(text):
            flags.append("emoji_only")
        else:
            flags.append("very_short")
    elif (cjk < VERY_SHORT_CJK_CHARS) if cjk else (len(words) < VERY_SHORT_WORDS):
        flags.append("very_short")
    if _SARCASM.search(text):
        flags.append("sarcasm_cue")
    if words:
        if lang is None:
            flags.append("unknown_language")
        elif lang not in STRONG_LANGUAGES:
            flags.append("weak_language")
    return LanguageReading(lang=lang, flags=tuple(flags))


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or `None` when the detector is unsure."""
    by_script = _language_by_script(text)
    if by_script is not None:
        return by_script
    (lang, best), (_, second) = _identifier().rank(text)[:2]
    if best < MIN_CONFIDENCE or best < MIN_LEAD * second or len(lang) != 2:  # "zxx", 3-letter codes
        return None
    return str(lang)


def _language_by_script(text: str) -> str | None:
    """CJK scripts are decisive when they make up most of the letters (Japanese mixes Han with kana)."""
    letters = sum(1 for ch in text if ch.isalpha())
    cjk = _CJK_CHAR.findall(text)
    if not letters or len(cjk) * 2 < letters:
        return None
    if any(_KANA.match(ch) for ch in cjk):
        return "ja"
    if any(_HANGUL.match(ch) for ch in cjk):
        return "ko"
    return "zh"


@functools.cache
def _identifier() -> LanguageIdentifier:
    """Loaded once per process (~0.5 s, ~50 MB); read-only afterwards, so threads can share it."""
    return LanguageIdentifier.from_model_file("data/model.npz.xz", norm_probs=True)
