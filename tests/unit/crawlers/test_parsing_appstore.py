"""The App Store reviews-feed parser: labels unwrapped, rating 0..1, app entry skipped, the 10-page cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.http import Response

from crawlers.items import mention_problems
from crawlers.parsing.appstore import FEED_PAGE_CAP, feed_url, parse_appstore, read_appstore
from tests.support.api_cases import assert_case, cases, load_response, load_shared, shared_fixtures


@pytest.mark.parametrize("case", cases("appstore"), ids=lambda p: p.name)
def test_appstore_case_parses_to_expected_page(case: Path) -> None:
    assert_case(read_appstore, case)


def test_parse_appstore_yields_the_items_of_the_page() -> None:
    response = load_response(cases("appstore")[0])
    assert list(parse_appstore(response, source="s")) == list(read_appstore(response, source="s").items)


@pytest.mark.parametrize(
    "path", shared_fixtures("appstore", "customerreviews_jp_1404176564_page1.json"), ids=lambda p: p.name
)
def test_real_recorded_appstore_response_parses(path: Path) -> None:
    """Real shapes from ../shared/fixtures (skipped where that directory is absent)."""
    page = read_appstore(load_shared(path), source="s")
    assert page.items, "a real response with content must give items"
    for item in page.items:
        assert not mention_problems(item), (item.external_id, mention_problems(item))


def _feed_page(page: int, entries: int) -> Response:
    entry = {
        "id": {"label": "1"},
        "im:rating": {"label": "3"},
        "title": {"label": "t"},
        "content": {"label": "c"},
        "author": {"name": {"label": "a"}},
    }
    feed = {"feed": {"entry": [{**entry, "id": {"label": str(n)}} for n in range(entries)], "link": []}}
    url = feed_url("https://itunes.apple.com", country="us", app_id="42", page=page)
    return Response(url, body=json.dumps(feed).encode())


def test_a_full_last_page_of_the_feed_is_truncated() -> None:
    page = read_appstore(_feed_page(FEED_PAGE_CAP, 50), source="s")
    assert (page.truncated, page.next_url, len(page.items)) == (True, None, 50)


def test_a_short_last_page_is_complete_and_earlier_pages_continue() -> None:
    assert read_appstore(_feed_page(FEED_PAGE_CAP, 49), source="s").truncated is False
    page = read_appstore(_feed_page(9, 50), source="s")
    assert page.next_url == feed_url("https://itunes.apple.com", country="us", app_id="42", page=10)


def test_app_entry_without_rating_is_skipped_and_version_is_kept_raw() -> None:
    page = read_appstore(load_response(cases("appstore")[0]), source="s")  # first-page
    assert [item.external_id for item in page.items] == ["10000000002", "10000000001"]
    assert json.loads(page.items[0].raw)["im:version"] == {"label": "2.4.1"}
