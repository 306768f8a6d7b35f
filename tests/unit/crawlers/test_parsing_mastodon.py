"""The Mastodon parser over saved timelines and searches: HTML to text, CW as title, boosts skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import Response

from crawlers.items import mention_problems
from crawlers.parsing.mastodon import link_header_next, parse_mastodon, read_mastodon
from tests.support.api_cases import assert_case, cases, load_response, load_shared, shared_fixtures


@pytest.mark.parametrize("case", cases("mastodon"), ids=lambda p: p.name)
def test_mastodon_case_parses_to_expected_page(case: Path) -> None:
    assert_case(read_mastodon, case)


def test_parse_mastodon_yields_the_items_of_the_page() -> None:
    response = load_response(cases("mastodon")[0])
    assert list(parse_mastodon(response, source="s")) == list(read_mastodon(response, source="s").items)


@pytest.mark.parametrize(
    "path",
    shared_fixtures("mastodon", "timeline_tag_hoot_localhost.json", "search_v2_halcy_mastodon_social.json"),
    ids=lambda p: p.name,
)
def test_real_recorded_mastodon_response_parses(path: Path) -> None:
    """Real shapes from ../shared/fixtures (skipped where that directory is absent)."""
    page = read_mastodon(load_shared(path), source="s")
    assert page.items, "a real response with content must give items"
    for item in page.items:
        assert not mention_problems(item), (item.external_id, mention_problems(item))


def test_link_header_next_picks_rel_next_among_several() -> None:
    link = '<https://m.example/a?min_id=9>; rel="prev", <https://m.example/a?max_id=3>; rel="next"'
    response = Response("https://m.example/a", headers={"Link": link})
    assert link_header_next(response) == "https://m.example/a?max_id=3"
    assert link_header_next(Response("https://m.example/a")) is None


def test_a_short_search_page_is_the_last() -> None:
    body = b'{"accounts": [], "statuses": [], "hashtags": []}'
    page = read_mastodon(Response("https://m.example/api/v2/search?q=a&limit=40", body=body), source="s")
    assert (page.items, page.next_url, page.newest) == ((), None, None)
