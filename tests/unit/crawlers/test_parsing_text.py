from __future__ import annotations

import pytest

from crawlers.parsing.text import clean_text, html_to_text, normalise_whitespace


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello &amp; <b>wor</b>ld</p><p>Second&nbsp;&nbsp;para</p>", "Hello & world\n\nSecond para"),
        ("<ul><li>a</li><li>b</li></ul>after", "a\nb\n\nafter"),
        ("one<br>two<br><br>three", "one\ntwo\n\nthree"),
        ("x<script>alert(1)</script><style>p{}</style>y<!-- note -->z", "xyz"),
        ("<a href='/p'>Picostation</a>的<a>PicoBlogger</a>是", "Picostation的PicoBlogger是"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
        ("&#x27;quoted&#x2F;&#39; &lt;tag&gt;", "'quoted/' <tag>"),
        ("  \n ", ""),
        ("bad\x00control\x1bchars", "badcontrolchars"),
    ],
)
def test_html_renders_as_a_reader_sees_it(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_plain_text_is_not_parsed_as_html() -> None:
    assert clean_text("price < 10 & <b>falling</b>", is_html=False) == "price < 10 & <b>falling</b>"


def test_whitespace_is_normalised_but_full_width_characters_are_kept() -> None:
    raw = "  等了５天，\u3000客服\u00a0态度\u200b差！ \r\n\r\n\r\n\r\n  second\tline  "
    assert normalise_whitespace(raw) == "等了５天， 客服 态度差！\n\nsecond line"


def test_empty_values_clean_to_empty_text() -> None:
    assert clean_text(None, is_html=True) == clean_text("", is_html=False) == ""
