"""Make customer text literal in Slack `mrkdwn`: no pings, no forged links, no formatting, no reordering.

Customer text is hostile input as far as Slack is concerned: `<!channel>` pings a whole channel, `<@U123>`
mentions a person and `<http://evil|your bank>` forges a link. Slack's control sequences all start with `<`,
so escaping the three characters Slack documents (`&`, `<`, `>`) makes such text arrive literally.

That is not enough: `*bold*`, `_italic_`, `~strike~`, `` `code` ``, ```` ```pre``` ```` and a `>` at the
start of a line (a block quote) still render, and a right-to-left override (U+202E) reverses the rest of
the line ("gnp.exe" shows as "exe.png") or of our own message around the quote. So every escape goes
through one path (`_prepare`, then `_MRKDWN`), shared by `escape_mrkdwn`, `escape_and_truncate` and the
label of `safe_link`:

1. **Invisible controls are removed**: Unicode categories Cc (controls; `\n` and `\t` are kept), Cf
   (format: the bidi embeddings, overrides, isolates and marks U+202A–U+202E, U+2066–U+2069, U+200E/U+200F,
   U+061C; zero-width space and joiners, word joiner, soft hyphen, BOM, tag characters that smuggle hidden
   ASCII) and Cs (lone surrogates, which no UTF-8 encoder accepts). The cost is that an emoji ZWJ sequence
   falls apart into its parts (a family shows as its members) and Persian or Indic text loses its
   ZWNJ/ZWJ shaping hints; `crawlers.parsing.text.clean_text` already drops those joiners, so crawled text
   loses nothing more here.
2. **mrkdwn markers become look-alikes** that Slack does not parse. Slack has no escape for them (a
   backslash stays visible and escapes nothing). The usual tricks do not fit: a zero-width space or soft
   hyphen next to the marker is a format control that step 1 removes for good reasons; wrapping text in a
   code span changes how it reads and breaks on the first backtick; jsx-slack's `<!date^0^{_}|*>` fallback
   trick relies on undocumented behaviour and costs ~20 characters per marker. Instead each marker is
   replaced by a character of the same shape, the mapping jsx-slack's `<Escape>` uses inside link labels:
   `*` → `∗` (U+2217), `_` → `ˍ` (U+02CD), `~` → `∼` (U+223C), `` ` `` → `ˋ` (U+02CB), and the full-width
   forms Slack also honours, `＊` → `﹡` (U+FE61), `＿` → `⸏` (U+2E0F), `｀` → `ˋ`. A `>` or `＞` that
   starts a line (Slack quotes on both, and on `&gt;`) becomes `˃` (U+02C3); a `>` elsewhere stays `&gt;`.
   Every marker is replaced, not just pairs: Slack's pairing rules are not documented, and a lone `*` in a
   title pairs with the `*` we put around it. A reader sees what the customer wrote; only copy-paste
   notices.
3. **`&`, `<` and `>` become entities**, as Slack documents. `str.translate` does steps 2 and 3 in one pass
   per character, so `&` is never escaped twice and the width of each grapheme is known for cutting.

URLs are not rewritten that way: `safe_link` leaves the target of `<url|label>` as the link needs it,
percent-encoding only what would end the link early and the controls of step 1 (RFC 3987 bars bidi
controls from IRIs; a browser sends them percent-encoded anyway), so the links we build keep working.

Length limits are counted on the *escaped* text (that is what Slack measures), so cutting has to avoid
splitting an entity like `&amp;` or a grapheme such as a flag or a family emoji; otherwise Slack shows
mojibake or rejects the block.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import regex

__all__ = ["ELLIPSIS", "escape_and_truncate", "escape_mrkdwn", "is_linkable", "safe_link", "truncate"]

ELLIPSIS = "…"

_GRAPHEME = regex.compile(r"\X")
_WHITESPACE = re.compile(r"\s+")
# Characters that would end or split Slack's `<url|label>` syntax, or that a URL never contains raw.
_URL_UNSAFE = {
    "<": "%3C",
    ">": "%3E",
    "|": "%7C",
    " ": "%20",
    '"': "%22",
    "`": "%60",
}
_LINK_SCHEMES = frozenset({"http", "https"})
# Step 1: controls (but newline and tab), format characters (bidi, zero-width, tags) and lone surrogates.
_CONTROLS = regex.compile(r"[\p{Cc}\p{Cf}\p{Cs}--[\n\t]]", regex.V1)
# A `>` (or full-width `＞`) after nothing but spaces at the start of the text or of a line: a block quote.
_QUOTE_START = regex.compile(r"(?<![^\n\u2028\u2029])([^\S\n\u2028\u2029]*)[>＞]")
_QUOTE_LOOKALIKE = "\u02c3"  # ˃ MODIFIER LETTER RIGHT ARROWHEAD
# Step 3, and what a code span needs: its closing backtick (either width) as a look-alike.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKTICKS = {"`": "\u02cb", "\uff40": "\u02cb"}  # ˋ MODIFIER LETTER GRAVE ACCENT
_CODE = str.maketrans({**_ENTITIES, **_BACKTICKS})
# Steps 2 and 3, one character at a time.
_MRKDWN = str.maketrans(
    {
        **_ENTITIES,
        **_BACKTICKS,
        "*": "\u2217",  # ∗ ASTERISK OPERATOR
        "\uff0a": "\ufe61",  # ＊ -> ﹡ SMALL ASTERISK
        "_": "\u02cd",  # ˍ MODIFIER LETTER LOW MACRON
        "\uff3f": "\u2e0f",  # ＿ -> ⸏ PARAGRAPHOS
        "~": "\u223c",  # ∼ TILDE OPERATOR
    }
)


def escape_mrkdwn(text: str) -> str:
    """Make `text` literal in Slack: no mention, ping, link, formatting, block quote or bidi reordering.

    Controls and format characters are removed, mrkdwn markers become look-alikes and `&`, `<`, `>`
    become entities (see the module docstring for why each).
    """
    return _render(_prepare(text))


def truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Cut `text` to at most `limit` characters on a grapheme boundary, marking the cut with `ellipsis`.

    Cutting by code point can split a combining accent from its letter or an emoji ZWJ sequence in two;
    `\\X` (extended grapheme clusters, Unicode UAX #29) keeps each user-perceived character whole.
    """
    return _cut(text, limit, ellipsis=ellipsis, render=_identity)


def escape_and_truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Escape `text` and cut it so that the *escaped* result is at most `limit` characters.

    Escaping after cutting could overrun the limit (`&` becomes five characters) and cutting after
    escaping could split `&amp;`; measuring each grapheme in its escaped form avoids both.
    """
    return _cut(_prepare(text), limit, ellipsis=ellipsis, render=_render)


def code_span(name: str, limit: int) -> str:
    """A name from the operator's config (a source, a kind) as inline code: shown as written, underscores
    and all, where `escape_mrkdwn` would draw them as look-alikes that no longer match the config.

    Nothing formats inside a code span; backticks (which would end it) become look-alikes, controls go,
    whitespace runs become one space, `&`, `<`, `>` become entities (Slack decodes them in code too).
    """
    inner = _CONTROLS.sub("", _WHITESPACE.sub(" ", name)).strip()
    escaped = _cut(inner, max(limit - 2, 1), ellipsis=ELLIPSIS, render=_render_code)
    return f"`{escaped}`"


def safe_link(url: str, label: str) -> str:
    """Return a Slack link `<url|label>` for an http(s) URL, or just the escaped label for anything else.

    The URL comes from a crawled page, so it is untrusted too: a `javascript:` or `slack://` URL must not
    become clickable, and `|`, `<` or `>` inside it must not end the link early and smuggle in a label or a
    mention. Those characters are percent-encoded (the URL keeps its meaning) and `&` is entity-escaped
    like everywhere else in `mrkdwn`; invisible controls are percent-encoded. The label is collapsed to one
    line and escaped like any customer text.
    """
    shown = escape_mrkdwn(_WHITESPACE.sub(" ", label)).strip()
    if not is_linkable(url):
        return shown
    visible = _CONTROLS.sub(lambda m: quote(m.group(), safe="", errors="surrogatepass"), url.strip())
    target = "".join(_URL_UNSAFE.get(ch, ch) for ch in visible).replace("&", "&amp;")
    if not shown:
        return f"<{target}>"
    return f"<{target}|{shown}>"


def is_linkable(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no control characters: the only links we make."""
    cleaned = url.strip()
    if not cleaned or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in cleaned):
        return False
    try:
        parts = urlsplit(cleaned)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return False
    return parts.scheme.lower() in _LINK_SCHEMES and bool(parts.netloc)


def _identity(text: str) -> str:
    return text


def _render_code(text: str) -> str:
    return text.translate(_CODE)


def _prepare(text: str) -> str:
    """Step 1 and the block-quote part of step 2: the changes that depend on context, done once."""
    return _QUOTE_START.sub(rf"\1{_QUOTE_LOOKALIKE}", _CONTROLS.sub("", text))


def _render(text: str) -> str:
    """Steps 2 and 3 on prepared text; per character, so a grapheme's width is its rendered length."""
    return text.translate(_MRKDWN)


def _cut(text: str, limit: int, *, ellipsis: str, render: Callable[[str], str]) -> str:
    if limit < len(ellipsis) or limit <= 0:
        raise ValueError(f"limit must be at least {max(len(ellipsis), 1)}, got {limit}")
    whole = render(text)
    if len(whole) <= limit:
        return whole
    budget = limit - len(ellipsis)
    pieces: list[str] = []
    used = 0
    for match in _GRAPHEME.finditer(text):
        piece = render(match.group())
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces).rstrip() + ellipsis
