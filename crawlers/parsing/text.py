"""Text cleaning shared by all parsers: HTML to text, entities decoded, whitespace normalised.

The analyzer, the content hash (cross-post detection) and Slack quotes all read the cleaned text, so every
source must produce the same shape: paragraphs separated by one blank line, no runs of spaces, no
invisible characters. Full-width punctuation (，。！) and full-width digits are kept: they are the text, and
normalising them (NFKC) would change what Chinese readers see in a quote.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import lxml.html  # type: ignore[import-untyped]  # lxml ships no type hints

__all__ = ["clean_text", "html_to_text", "normalise_whitespace"]

# Zero-width and BOM characters: invisible, but they break the content hash and word matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # lxml refuses them; no text needs them
# A character reference to one of them (`&#x13;`, `&#19;`): the HTML parser turns it into the character.
_CONTROL_REFERENCE = re.compile(
    r"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])(?![0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|127)(?![0-9]));?"
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")  # what HTML collapses (NBSP is not HTML whitespace)
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but a newline (incl. NBSP and the ideographic space)
_BLANK_LINES = re.compile(r"\n{3,}")

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg"})
_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl", "table", "figure", "hr"}
)
_LINE = frozenset(
    {
        "div",
        "li",
        "dt",
        "dd",
        "tr",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "nav",
        "main",
        "address",
        "form",
        "fieldset",
        "figcaption",
        "caption",
        "details",
        "summary",
    }
)
_CELL = frozenset({"td", "th"})


def normalise_whitespace(text: str) -> str:
    """Collapse runs of spaces, trim every line, keep at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text.translate(_INVISIBLE))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Render an HTML fragment as plain text the way a browser shows it.

    Inline elements join their neighbours without a space (`<b>wor</b>ld` is "world", and
    `<a>Picostation</a>的` stays "Picostation的": CJK text has no spaces to spare), block elements start
    a line, paragraphs are separated by a blank line, scripts/styles/comments are dropped and entities
    decoded. Libraries built for search indexing (html-text) insert a space between every inline
    element, which corrupts Chinese text, hence this small renderer over lxml.
    """
    html = _CONTROL_REFERENCE.sub("", _CONTROL.sub("", html))
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return normalise_whitespace(_join(_render(root)))


def clean_text(value: str | None, *, is_html: bool) -> str:
    """Clean a field whose type the source told us: HTML is rendered, plain text only normalised.

    Plain text is never run through an HTML parser: "price < 10 & falling" must survive as written.
    """
    if not value:
        return ""
    return html_to_text(value) if is_html else normalise_whitespace(value)


def _join(pieces: Iterator[str | int]) -> str:
    """Join text pieces; an int asks for that many line breaks before the next text, and adjacent
    requests merge (the largest wins), so `</li><li>` is one line break and `</p><p>` one blank line."""
    out: list[str] = []
    pending = 0
    for piece in pieces:
        if isinstance(piece, int):
            pending = max(pending, piece)
            continue
        if pending and out:
            out.append("\n" * pending)
        pending = 0
        out.append(piece)
    return "".join(out)


def _render(element: lxml.html.HtmlElement) -> Iterator[str | int]:
    tag = element.tag.lower() if isinstance(element.tag, str) else ""  # comments/PIs: tag is a function
    if tag and tag not in _SKIP:
        breaks = 2 if tag in _PARAGRAPH else 1 if tag in _LINE else 0
        if tag == "br":
            yield "\n"  # literal, not merged: two <br> in a row are a blank line
        elif tag in _CELL:
            yield " "
        yield breaks
        if element.text:
            yield _HTML_SPACE.sub(" ", element.text)
        for child in element:
            yield from _render(child)
        yield breaks
    if element.tail:  # the tail belongs to the parent: kept even when the element itself is skipped
        yield _HTML_SPACE.sub(" ", element.tail)
