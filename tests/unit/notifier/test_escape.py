"""Customer text must reach Slack as literal text: no pings, no mentions, no forged links, no
formatting (`*bold*`, `_it_`, `~strike~`, code, block quotes) and no bidi or other invisible controls."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from notifier.escape import (
    ELLIPSIS,
    code_span,
    escape_and_truncate,
    escape_mrkdwn,
    is_linkable,
    safe_link,
    truncate,
)
from tests.support.hostile import HOSTILE_STRINGS, hostile_text

HOSTILE = [
    "<!channel> refund me now",
    "<!here> anyone?",
    "<!everyone>",
    "hey <@U123> look",
    "<#C0123ABCD|general>",
    "<!subteam^S123|@support>",
    "<http://evil.example|click for your refund>",
    "<https://bank.example/login>",
    "already escaped &lt;!channel&gt; and &amp;",
    "a > b & c < d",
    "<<!channel>>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_mrkdwn_leaves_no_control_sequence_and_round_trips(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert "<" not in escaped
    assert ">" not in escaped
    # What Slack shows is the entity-decoded text: exactly what the customer wrote.
    assert html.unescape(escaped) == text


def test_escape_mrkdwn_escapes_ampersand_first() -> None:
    assert escape_mrkdwn("<!channel> x & y") == "&lt;!channel&gt; x &amp; y"
    assert escape_mrkdwn("&lt;") == "&amp;lt;"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/review/1", "<https://example.com/review/1|Open>"),
        ("http://example.com/", "<http://example.com/|Open>"),
        ("HTTPS://EXAMPLE.COM/x", "<HTTPS://EXAMPLE.COM/x|Open>"),
        ("https://example.com/?a=1&b=2", "<https://example.com/?a=1&amp;b=2|Open>"),
        ("https://example.com/a|<!channel>", "<https://example.com/a%7C%3C!channel%3E|Open>"),
        ("https://example.com/a>b c", "<https://example.com/a%3Eb%20c|Open>"),
    ],
)
def test_safe_link_links_http_urls_with_separators_encoded(url: str, expected: str) -> None:
    assert safe_link(url, "Open") == expected


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "slack://channel?id=C1",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "/relative/path",
        "example.com/no-scheme",
        "",
        "https://exa\nmple.com/",
        "https://example.com/\x00",
        "http://[::1",
        "https:///no-host",
    ],
)
def test_safe_link_never_links_other_urls(url: str) -> None:
    assert not is_linkable(url)
    assert safe_link(url, "Open <!channel>") == "Open &lt;!channel&gt;"


def test_safe_link_escapes_and_flattens_the_label() -> None:
    link = safe_link("https://example.com/", "Bad <@U123>\n& <http://x|y>")
    assert link == "<https://example.com/|Bad &lt;@U123&gt; &amp; &lt;http://x|y&gt;>"
    # The only unescaped brackets are the link's own, so nothing else can start a control sequence.
    assert link.count("<") == 1
    assert link.count(">") == 1


def test_safe_link_without_label_shows_the_url() -> None:
    assert safe_link("https://example.com/x", "  ") == "<https://example.com/x>"


def test_truncate_keeps_short_text() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"


def test_truncate_cuts_to_limit_with_ellipsis() -> None:
    out = truncate("The parcel arrived three weeks late", 12)
    assert out == "The parcel…"
    assert len(out) <= 12


@pytest.mark.parametrize(
    "grapheme",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family (ZWJ sequence)
        "e\u0301",  # e + combining acute accent
        "\U0001f1e9\U0001f1ea",  # flag: two regional indicators
        "\U0001f44d\U0001f3fd",  # thumbs up + skin tone modifier
    ],
)
def test_truncate_never_splits_a_grapheme(grapheme: str) -> None:
    text = grapheme * 20
    for limit in range(1, len(text)):
        out = truncate(text, limit)
        assert len(out) <= limit
        kept = out.removesuffix(ELLIPSIS)
        assert kept == grapheme * (len(kept) // len(grapheme))


def test_truncate_rejects_a_limit_without_room() -> None:
    with pytest.raises(ValueError):
        truncate("text", 0)
    with pytest.raises(ValueError):
        truncate("text", 2, ellipsis="...")


def test_escape_and_truncate_measures_the_escaped_text_and_never_splits_an_entity() -> None:
    text = "<&>" * 1000
    for limit in range(1, 60):
        out = escape_and_truncate(text, limit)
        assert len(out) <= limit
        body = out.removesuffix(ELLIPSIS)
        assert re.fullmatch(r"(&lt;|&amp;|&gt;)*", body), out


def test_escape_and_truncate_leaves_short_text_whole() -> None:
    assert escape_and_truncate("<!here>", 100) == "&lt;!here&gt;"


# -- mrkdwn formatting and invisible controls ------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# What Slack would act on: the formatting markers (ASCII and the full-width forms Slack also honours)
# and raw `<` `>` (links, mentions). `&` may only start one of the three entities we write.
MARKERS = "*_~`\uff0a\uff3f\uff40<>"
LOOSE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
LINE_BREAKS = re.compile("[\n\u2028\u2029]")
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# The look-alikes that stand for a marker, folded back so that "what the reader sees" can be compared.
FOLD = str.maketrans(
    {
        "\u2217": "*",
        "\ufe61": "*",
        "\uff0a": "*",
        "\u02cd": "_",
        "\u2e0f": "_",
        "\uff3f": "_",
        "\u223c": "~",
        "\u02cb": "`",
        "\uff40": "`",
        "\u02c3": ">",
        "\uff1e": ">",
    }
)


def assert_literal(out: str) -> None:
    """Nothing in `out` can render in Slack as anything but the text itself.

    Precisely: no character of category Cc (but newline and tab), Cf or Cs, so no bidi control; no
    formatting marker and no raw `<` or `>`, so no bold, italic, strike, code, preformatted, link or
    mention can open; every `&` starts `&amp;`, `&lt;` or `&gt;`; no line starts (after spaces) with
    `&gt;` or `＞`, so no block quote; and it encodes as UTF-8.
    """
    for ch in out:
        assert ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs"}, f"{ch!r} in {out!r}"
    assert not set(BIDI_CONTROLS) & set(out)
    assert not set(MARKERS) & set(out), out
    assert not LOOSE_AMPERSAND.search(out), out
    for line in LINE_BREAKS.split(out):
        assert not line.lstrip().startswith(("&gt;", "\uff1e")), out
    out.encode("utf-8")


def seen(text: str) -> str:
    """What a reader should see of `text`: without invisible controls, look-alikes folded to markers.

    Unassigned code points are left out too: the `regex` module may know a newer Unicode than Python's
    `unicodedata`, in which some of them are already format characters (the strategies avoid them).
    """
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Cn"})
    return "".join(kept).translate(FOLD)


def alphanumerics(text: str) -> list[str]:
    return [ch for ch in text if ch.isalnum()]


# Markers, line breaks, controls, look-alikes already in the input, combining marks, emoji parts, CJK.
_NOISE = [
    *"*_~`>< &;\n\t\uff0a\uff3f\uff40\uff1e\u2028",
    *BIDI_CONTROLS,
    *"\u200b\u200c\u200d\u2060\ufeff\u00ad\U000e0041\x00\x1b\r",
    *"\u2217\u02cd\u02c3e\u0301\U0001f468\U0001f1e9\U0001f1eaa7\u8d28",
]


def slack_text(*, max_size: int = 200) -> st.SearchStrategy[str]:
    """Text dense in mrkdwn markers, line starts and controls, mixed with arbitrary assigned Unicode."""
    dense = st.text(st.sampled_from(_NOISE), max_size=max_size)
    anything = st.text(
        st.characters(codec=None, min_codepoint=0, exclude_categories=["Cn"]), max_size=max_size
    )
    named = st.sampled_from(HOSTILE_STRINGS)
    return st.one_of(
        dense, anything, named, st.lists(st.one_of(dense, anything, named), max_size=4).map("".join)
    )


def test_customer_mrkdwn_from_the_issue_is_shown_not_rendered() -> None:
    out = escape_mrkdwn("*bold* _it_ ~strike~")
    assert out == "\u2217bold\u2217 \u02cdit\u02cd \u223cstrike\u223c"
    assert_literal(out)
    assert out.translate(FOLD) == "*bold* _it_ ~strike~"


def test_code_preformatted_and_full_width_markers_are_shown_not_rendered() -> None:
    out = escape_mrkdwn("`code` ```pre``` \uff0abold\uff0a \uff3fit\uff3f \uff40x\uff40")
    tick = "\u02cb"
    assert out == f"{tick}code{tick} {tick * 3}pre{tick * 3} \ufe61bold\ufe61 \u2e0fit\u2e0f {tick}x{tick}"
    assert_literal(out)


def test_a_line_starting_with_a_quote_mark_is_not_a_block_quote() -> None:
    out = escape_mrkdwn("> quoted\n>> twice\n  > indented\n\uff1e wide\na > b")
    assert out.split("\n") == [
        "\u02c3 quoted",
        "\u02c3&gt; twice",
        "  \u02c3 indented",
        "\u02c3 wide",
        "a &gt; b",  # a `>` inside a line is no quote: it stays the exact character
    ]
    assert_literal(out)


def test_a_quote_mark_behind_a_removed_control_still_starts_the_line() -> None:
    assert escape_mrkdwn("\u202e> x") == "\u02c3 x"


def test_right_to_left_override_from_the_issue_is_removed() -> None:
    out = escape_mrkdwn("refund \u202egnp.exe\u202c now")
    assert out == "refund gnp.exe now"


@pytest.mark.parametrize(
    "control",
    [
        *BIDI_CONTROLS,
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u2060",  # word joiner
        "\ufeff",  # BOM / zero-width no-break space
        "\u00ad",  # soft hyphen
        "\U000e0041",  # tag latin capital A: hidden ASCII
        "\x00",
        "\x1b",
        "\x7f",
        "\x85",
        "\r",
        "\ud800",  # lone surrogate
    ],
)
def test_invisible_controls_are_removed(control: str) -> None:
    assert escape_mrkdwn(f"a{control}b") == "ab"
    assert escape_and_truncate(f"a{control}b", 10) == "ab"


def test_newline_and_tab_are_kept() -> None:
    assert escape_mrkdwn("a\tb\nc") == "a\tb\nc"


def test_named_hostile_strings_are_literal_and_readable() -> None:
    for text in HOSTILE_STRINGS:
        out = escape_mrkdwn(text)
        assert_literal(out)
        assert html.unescape(out).translate(FOLD) == seen(text)


def test_escape_and_truncate_counts_look_alikes_and_entities() -> None:
    out = escape_and_truncate("*a* & <b>" * 10, 12)
    assert out == "\u2217a\u2217 &amp;\u2026"  # the space before the cut is dropped
    assert len(out) <= 12


def test_safe_link_neutralises_the_label_and_leaves_the_url_working() -> None:
    link = safe_link("https://example.com/a_b*c~d?x=1&y=`2`", "*Bold* _claim_\n> quote")
    assert (
        link
        == "<https://example.com/a_b*c~d?x=1&amp;y=%602%60|\u2217Bold\u2217 \u02cdclaim\u02cd &gt; quote>"
    )


def test_safe_link_percent_encodes_invisible_controls_in_the_url() -> None:
    link = safe_link("https://example.com/\u202egnp.exe", "\u202eOpen")
    assert link == "<https://example.com/%E2%80%AEgnp.exe|Open>"


@PROPERTY
@example(text="*bold* _it_ ~strike~ `code` ```pre```\n> quote \u202egnp.exe")
@given(text=slack_text())
def test_escaped_text_is_literal_and_reads_as_written(text: str) -> None:
    out = escape_mrkdwn(text)
    assert_literal(out)
    # Readability: decode the entities, fold the look-alikes back, and it is what the customer wrote.
    assert html.unescape(out).translate(FOLD) == seen(text)
    assert alphanumerics(html.unescape(out).translate(FOLD)) == alphanumerics(seen(text))


@PROPERTY
@given(text=slack_text(max_size=300), limit=st.integers(min_value=1, max_value=120))
def test_cut_text_is_literal_within_the_limit_and_a_grapheme_prefix(text: str, limit: int) -> None:
    out = escape_and_truncate(text, limit)
    assert len(out) <= limit
    assert_literal(out)
    whole = escape_mrkdwn(text)
    if out == whole:
        return
    assert out.endswith(ELLIPSIS)
    kept = html.unescape(out.removesuffix(ELLIPSIS)).translate(FOLD)
    graphemes = regex.findall(r"\X", seen(text))
    assert any(kept == "".join(graphemes[:n]).rstrip() for n in range(len(graphemes) + 1)), (kept, graphemes)
    wanted = alphanumerics(seen(text))
    assert alphanumerics(kept) == wanted[: len(alphanumerics(kept))]


@PROPERTY
@given(
    path=hostile_text(max_size=40),
    label=slack_text(max_size=60),
)
def test_link_label_is_literal_and_the_link_has_one_target(path: str, label: str) -> None:
    link = safe_link("https://example.com/" + path, label)
    if not is_linkable("https://example.com/" + path):
        assert_literal(link)
        return
    target, sep, shown = link[1:-1].partition("|")
    assert link[0] == "<" and link[-1] == ">"
    assert not set("<>| ") & set(target)
    assert all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs"} for ch in target), target
    assert_literal(shown)
    assert sep or not shown


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("partner_forum", "`partner_forum`"),  # as in the config: copyable into `vocwatch sources`
        ("odd`name", "`odd\u02cbname`"),  # a backtick cannot end the span
        ("a <b> & c\u202e\n  d", "`a &lt;b&gt; &amp; c d`"),
    ],
)
def test_config_names_are_code_spans(name: str, shown: str) -> None:
    assert code_span(name, 100) == shown


def test_a_long_config_name_is_cut_inside_its_span() -> None:
    assert code_span("x" * 300, 20) == "`" + "x" * 17 + "…`"
