"""Customer text must reach Slack as literal text: no pings, no mentions, no forged links."""

from __future__ import annotations

import html
import re

import pytest

from notifier.escape import ELLIPSIS, escape_and_truncate, escape_mrkdwn, is_linkable, safe_link, truncate

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
