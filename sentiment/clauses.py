"""Split a review into clauses, so that "food great, but the delivery took two hours" scores two aspects.

Pure text rules, no model: sentence punctuation (Latin and full-width CJK), commas, semicolons and line
breaks end a clause, and so do contrast words ("but", "however", 但是, 不过, aber, pero, しかし, ...), which
start a new clause and are dropped from it (the contrast is carried by the split; the word itself only
dilutes the clause's meaning). Fragments without letters are dropped, and fragments too short to mean
anything on their own ("Well," "OK,") are joined to the next clause (the last one stands alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

# Contrast words, by script. Latin words need word boundaries ("but" not in "button"); CJK ones cannot
# have them, so they are listed only where they are unambiguous (但是 yes, 但 alone no: 不但 = "not only").
_LATIN_CONTRAST = (
    "but",
    "however",
    "although",
    "though",
    "whereas",
    "except that",
    "aber",
    "jedoch",
    "allerdings",
    "pero",
    "sin embargo",
    "mais",
    "cependant",
    "toutefois",
    "però",
    "tuttavia",
    "maar",
    "mas",
    "porém",
    "но",
    "однако",
)
_CJK_CONTRAST = (
    "但是",
    "可是",
    "不过",
    "不過",
    "然而",
    "只是",
    "却",
    "卻",
    "しかし",
    "でも",
    "けど",
    "하지만",
    "그런데",
)

_BOUNDARY = regex.compile(
    r"[.!?…](?=\s|$)"  # Latin sentence end: not the dot in 3.5 or example.com
    r"|[。！？；;，,\n\r]+"
    r"|\s+-\s+"
)
_CONTRAST = regex.compile(
    r"(?i)\b(?:" + "|".join(regex.escape(w) for w in _LATIN_CONTRAST) + r")\b"
    r"|(?<!不)(?:" + "|".join(regex.escape(w) for w in _CJK_CONTRAST) + r")"
)
_LETTER = regex.compile(r"\p{L}")
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")

MIN_CLAUSE_WORDS = 2
"""A clause of fewer (space-separated) words than this is joined to the next: "Well," is no aspect."""
MIN_CLAUSE_CJK_CHARS = 2


@dataclass(frozen=True)
class Clause:
    """One clause: its text (pieces joined by a space) and the span of the original text it covers."""

    text: str
    start: int
    end: int


def split_clauses(text: str) -> list[str]:
    """The text's clauses in order, stripped; a text without boundaries is one clause (itself, stripped).

    Never empty for a text with letters; `[]` for one without (emoji only, numbers, whitespace).
    """
    return [clause.text for clause in clauses_of(text)]


def clauses_of(text: str) -> list[Clause]:
    """`split_clauses` with each clause's character span in `text` (from its first to its last piece).

    The analyzer pools the token states of a span instead of encoding the clause again.
    """
    clauses: list[Clause] = []
    pending: Clause | None = None
    for start, end in _pieces(text):
        piece = Clause(text[start:end], start, end)
        if pending is not None:
            piece = Clause(f"{pending.text} {piece.text}", pending.start, end)
        if _too_short(piece.text):
            pending = piece
            continue
        clauses.append(piece)
        pending = None
    if (
        pending is not None
    ):  # a short last clause stands alone: in "friendly, aber langsam" it is the contrast
        clauses.append(pending)
    return clauses


_STRIPPED = " \t\"'“”‘’()[]（）【】-—:："


def _pieces(text: str) -> list[tuple[int, int]]:
    """Spans between boundaries and contrast words, stripped of quotes and brackets, that hold a letter."""
    spans: list[tuple[int, int]] = []
    for part_start, part_end in _between(_BOUNDARY, text, 0, len(text)):
        spans += _between(_CONTRAST, text, part_start, part_end)
    pieces = []
    for start, end in spans:
        raw = text[start:end]
        lead = len(raw) - len(raw.lstrip(_STRIPPED))
        trail = len(raw) - len(raw.rstrip(_STRIPPED))
        if _LETTER.search(raw):
            pieces.append((start + lead, end - trail))
    return pieces


def _between(pattern: regex.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of `text[start:end]` between the matches of `pattern` (what `pattern.split` would return)."""
    part = text[start:end]
    spans, position = [], 0
    for match in pattern.finditer(part):
        spans.append((start + position, start + match.start()))
        position = match.end()
    spans.append((start + position, end))
    return spans


def _too_short(piece: str) -> bool:
    cjk = len(_CJK.findall(piece))
    if cjk:
        return cjk < MIN_CLAUSE_CJK_CHARS
    return len(piece.split()) < MIN_CLAUSE_WORDS
