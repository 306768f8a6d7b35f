"""The Reddit parser over saved Listings and submission pages: exact fields, `more` stubs, "" replies."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import Response

from crawlers.items import mention_problems
from crawlers.parsing.reddit import comments_path, parse_reddit, read_reddit
from tests.support.api_cases import assert_case, cases, load_response, load_shared, shared_fixtures


@pytest.mark.parametrize("case", cases("reddit"), ids=lambda p: p.name)
def test_reddit_case_parses_to_expected_page(case: Path) -> None:
    assert_case(read_reddit, case)


def test_parse_reddit_yields_the_items_of_the_page() -> None:
    response = load_response(cases("reddit")[0])
    assert list(parse_reddit(response, source="s")) == list(read_reddit(response, source="s").items)


@pytest.mark.parametrize(
    "path",
    shared_fixtures("reddit", "r_all_search_praw_oauth_search.json", "comments_2gmzqe.json"),
    ids=lambda p: p.name,
)
def test_real_recorded_reddit_response_parses(path: Path) -> None:
    """Real shapes from ../shared/fixtures (skipped where that directory is absent)."""
    page = read_reddit(load_shared(path), source="s")
    assert page.items, "a real response with content must give items"
    for item in page.items:
        assert not mention_problems(item), (item.external_id, mention_problems(item))


def test_more_stubs_are_skipped_and_empty_replies_end_a_branch() -> None:
    page = read_reddit(load_response(cases("reddit")[0]), source="s")  # comment-tree
    assert [item.external_id for item in page.items] == ["t3_1abcde", "t1_kc1", "t1_kc2", "t1_kc3"]
    assert page.ordered is False and page.next_url is None


def test_last_listing_page_has_no_next_url() -> None:
    body = b'{"kind": "Listing", "data": {"children": [], "after": null}}'
    assert (
        read_reddit(Response("https://oauth.reddit.com/r/acme/new.json", body=body), source="s").next_url
        is None
    )


def test_comments_path_is_built_from_a_submission_fullname_only() -> None:
    assert comments_path("t3_1abcde") == "/comments/1abcde"
    assert comments_path("t1_kc1") is None
    assert comments_path("") is None
