"""Split a review into clauses, so that "food great, but the delivery took two hours" scores two aspects.

Pure text rules, no model: sentence punctuation (Latin and full-width CJK), commas, semicolons and line
breaks end a clause, and so do contrast words ("but", "however", 但是, 不过, aber, pero, しかし, ...), which
start a new clause and are dropped from it (the contrast is carried by the split; the word itself only
dilutes the clause's meaning). Fragments without letters are dropped, and fragments too short to mean
anything on their own ("Well," "OK,") are joined to the next clause (the last one stands alone).
"""

from __future__ import annotations

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


def split_clauses(text: str) -> list[str]:
    """The text's clauses in order, stripped; a text without boundaries is one clause (itself, stripped).

    Never empty for a text with letters; `[]` for one without (emoji only, numbers, whitespace).
    """
    pieces: list[str] = []
    for part in _BOUNDARY.split(text):
        pieces.extend(_CONTRAST.split(part))
    clauses: list[str] = []
    pending = ""
    for piece in pieces:
        piece = piece.strip(" \t\"'“”‘’()[]（）【】-—:：")
        if not _LETTER.search(piece):
            continue
        piece = f"{pending} {piece}".strip() if pending else piece
        if _too_short(piece):
            pending = piece
            continue
        clauses.append(piece)
        pending = ""
    if pending:  # a short last clause stands alone: in "friendly, aber langsam" it is the contrast
        clauses.append(pending)
    return clauses


def _too_short(piece: str) -> bool:
    cjk = len(_CJK.findall(piece))
    if cjk:
        return cjk < MIN_CLAUSE_CJK_CHARS
    return len(piece.split()) < MIN_CLAUSE_WORDS
