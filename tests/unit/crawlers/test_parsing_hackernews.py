"""The Hacker News (Algolia) parser: stories and comments, HTML text, page/nbPages paging."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import Response

from crawlers.items import mention_problems
from crawlers.parsing.hackernews import parse_hackernews, read_hackernews
from tests.support.api_cases import assert_case, cases, load_response, load_shared, shared_fixtures


@pytest.mark.parametrize("case", cases("hackernews"), ids=lambda p: p.name)
def test_hackernews_case_parses_to_expected_page(case: Path) -> None:
    assert_case(read_hackernews, case)


def test_parse_hackernews_yields_the_items_of_the_page() -> None:
    response = load_response(cases("hackernews")[0])
    assert list(parse_hackernews(response, source="s")) == list(read_hackernews(response, source="s").items)


@pytest.mark.parametrize(
    "path",
    shared_fixtures(
        "hackernews",
        "search_by_date_comment_apple.json",
        "search_story_apple.json",
        "search_comment_apple.json",
    ),
    ids=lambda p: p.name,
)
def test_real_recorded_hackernews_response_parses(path: Path) -> None:
    """Real shapes from ../shared/fixtures (skipped where that directory is absent)."""
    page = read_hackernews(load_shared(path), source="s")
    assert page.items, "a real response with content must give items"
    for item in page.items:
        assert not mention_problems(item), (item.external_id, mention_problems(item))


def test_highlight_markup_is_never_the_text() -> None:
    page = read_hackernews(load_response(cases("hackernews")[1]), source="s")  # search-by-date
    assert all("<em>" not in item.text for item in page.items)
    assert all("_highlightResult" not in item.raw for item in page.items)


def test_an_empty_answer_has_no_next_page_and_no_marker() -> None:
    body = b'{"hits": [], "page": 0, "nbPages": 0}'
    page = read_hackernews(
        Response("https://hn.algolia.com/api/v1/search_by_date?query=a", body=body), source="s"
    )
    assert (page.items, page.next_url, page.newest) == ((), None, None)
