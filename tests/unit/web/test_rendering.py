"""Pure parts of the review UI: escaping customer text, safe links, charts, event wording."""

from __future__ import annotations

from datetime import date

import pytest

from notifier import blocks
from storage.enums import CaseEventKind
from vocwatch.web.charts import DayPoint, bar_chart, trend_chart
from vocwatch.web.rendering import customer_text, safe_url
from vocwatch.web.slack_echo import summarize


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("  http://example.com  ", "http://example.com"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//evil.example", None),
        ("https://exa\nmple.com", None),
        ("https://[::1", None),
        ("", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_customer_text_escapes_everything_and_links_only_http() -> None:
    html = str(
        customer_text(
            "<script>x</script> &amp; see https://ex.com/a?b=1&c=<2>. or javascript:alert(1) \u202eabc"
        )
    )
    assert html.startswith('<bdi dir="auto">') and html.endswith("</bdi>")
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&amp;amp;" in html  # an entity in the text is shown as typed
    assert '<a href="https://ex.com/a?b=1&amp;c=" rel="noopener noreferrer nofollow" target="_blank">' in html
    assert 'href="javascript' not in html and "javascript:alert(1)" in html
    assert "\u202e" in html  # kept, but isolated inside <bdi>
    assert str(customer_text(None)) == ""


def test_trend_chart_is_svg_of_numbers_with_an_escaped_title() -> None:
    points = [DayPoint(date(2026, 11, d), d, 0.5, -0.2) for d in (1, 2)] + [
        DayPoint(date(2026, 11, 3), 0, None, None)
    ]
    svg = str(trend_chart('<b>"tp"</b>', points))
    assert svg.startswith('<svg class="chart"') and "<b>" not in svg and "&lt;b&gt;" in svg
    assert svg.count("<rect") == 3 and svg.count("<polyline") == 2 and svg.count("<circle") == 4
    assert str(trend_chart("empty", [])) == ""
    assert "<title>x</title>" in str(bar_chart("x", [("< 1 day", 3), ("> 7 days", 0)]))


@pytest.mark.parametrize(
    ("kind", "detail", "expected"),
    [
        ("resolve", {"reason": "no_action_needed"}, "resolved (no action needed)"),
        ("dismiss", {"reason": "not_our_brand"}, "dismissed (not our brand)"),
        ("assign", {"assignee": None}, "unassigned"),
        ("correct", {"label": "neutral", "topics": []}, "corrected sentiment → neutral; topics → none"),
        ("acknowledge", {}, "acknowledged"),
    ],
)
def test_summarize(kind: str, detail: dict[str, object], expected: str) -> None:
    assert summarize(CaseEventKind(kind), detail) == expected


def test_case_update_blocks_escape_staff_text() -> None:
    card = blocks.CaseUpdateMessage(
        case_id=7,
        actor="<@U123>",
        summary="added a note",
        note="<!channel> *call* them",
        case_url="https://r.example/cases/7",
    )
    rendered = str(blocks.build_case_update_blocks(card))
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered and "&lt;@U123&gt;" in rendered
    assert "https://r.example/cases/7" in rendered
    assert blocks.build_case_update_fallback(card).startswith(
        "Case #7 · &lt;@U123&gt;: added a note: &lt;!channel&gt;"
    )
