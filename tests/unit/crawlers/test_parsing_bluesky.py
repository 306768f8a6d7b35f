"""The Bluesky searchPosts parser: facet links restored by UTF-8 byte offsets, cursor paging."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.items import mention_problems
from crawlers.parsing.bluesky import expand_links, parse_bluesky, read_bluesky
from tests.support.api_cases import assert_case, cases, load_response, load_shared, shared_fixtures


@pytest.mark.parametrize("case", cases("bluesky"), ids=lambda p: p.name)
def test_bluesky_case_parses_to_expected_page(case: Path) -> None:
    assert_case(read_bluesky, case)


def test_parse_bluesky_yields_the_items_of_the_page() -> None:
    response = load_response(cases("bluesky")[0])
    assert list(parse_bluesky(response, source="s")) == list(read_bluesky(response, source="s").items)


@pytest.mark.parametrize(
    "path",
    shared_fixtures("bluesky", "searchPosts_redistricting.json", "getPosts_3k7qmjev5lr2s.json"),
    ids=lambda p: p.name,
)
def test_real_recorded_bluesky_response_parses(path: Path) -> None:
    """Real shapes from ../shared/fixtures (skipped where that directory is absent)."""
    page = read_bluesky(load_shared(path), source="s")
    assert page.items, "a real response with content must give items"
    for item in page.items:
        assert not mention_problems(item), (item.external_id, mention_problems(item))


def test_link_facets_count_utf8_bytes_not_characters() -> None:
    text = "ü see ex.com/a…"
    start = len("ü see ".encode())
    facets = [
        {
            "index": {"byteStart": start, "byteEnd": len(text.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://ex.com/abc"}],
        }
    ]
    assert expand_links(text, facets) == "ü see https://ex.com/abc"


def test_facets_that_do_not_fit_the_text_are_ignored() -> None:
    facets = [
        {
            "index": {"byteStart": 3, "byteEnd": 99},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "x"}],
        }
    ]
    assert expand_links("short", facets) == "short"
    assert expand_links("short", None) == "short"
