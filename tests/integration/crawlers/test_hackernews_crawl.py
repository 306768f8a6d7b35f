"""Real hackernews crawls: Algolia pages by page/nbPages, then `numericFilters=created_at_i>=` next time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from storage import CrawlRunStatus
from tests.support.api_site import case_body, json_reply
from tests.support.crawling import CrawlDb, run_crawl, runspec
from tests.support.sites import LocalSite

SEARCH = "/algolia/search_by_date"
MIDDLE = {
    "hits": [
        {
            "objectID": "39550000",
            "author": "dang_fan",
            "title": None,
            "comment_text": "<p>Acme&#x27;s refunds are slow too.</p>",
            "points": None,
            "created_at_i": 1709500000,
            "story_id": 39500000,
        }
    ],
    "page": 1,
    "nbPages": 3,
}


def hn_spec(db: CrawlDb, site: LocalSite) -> dict[str, Any]:
    return runspec(
        db, [], kind="hackernews", query="acme", params={"api_url": site.url("/algolia"), "hits_per_page": 2}
    )


def query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def test_search_reads_every_page_then_only_what_is_newer(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite
) -> None:
    local_site.script(
        SEARCH,
        json_reply(case_body("hackernews", "search-by-date")),
        json_reply(MIDDLE),
        json_reply(case_body("hackernews", "last-page")),
    )

    crawl = run_crawl(hn_spec(sqlite_crawl_db, local_site))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.items_new, run.pages) == (CrawlRunStatus.OK, "completed", 4, 3)
    ask = sqlite_crawl_db.mentions()["39600001"]
    assert (ask.title, ask.author, ask.score, ask.replies, ask.url) == (
        "Ask HN: Is Acme support always this slow?",
        "throwaway42",
        57,
        31,
        "https://news.ycombinator.com/item?id=39600001",
    )
    assert ask.text == (
        "Ask HN: Is Acme support always this slow?\n\nWaited 3 weeks for a reply & counting.\n\nAlternatives?"
    )
    assert ask.published_at == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert sqlite_crawl_db.mentions()["39550000"].text == "Acme's refunds are slow too."
    pages = [query_of(r.path) for r in local_site.requests_for(SEARCH)]
    assert [p["page"] for p in pages] == [["0"], ["1"], ["2"]]
    assert pages[0]["tags"] == ["(story,comment)"] and pages[0]["query"] == ["acme"]
    assert sqlite_crawl_db.cursor() == {"newest": {"search:acme": "1709623800"}}

    local_site.script(SEARCH, json_reply(case_body("hackernews", "search-by-date")))
    second = run_crawl(hn_spec(sqlite_crawl_db, local_site))

    assert second.returncode == 0, second.stderr
    run = sqlite_crawl_db.runs()[1]
    assert (run.items_new, run.stop_reason, run.pages) == (0, "caught_up", 1)
    assert query_of(local_site.requests_for(SEARCH)[3].path)["numericFilters"] == ["created_at_i>=1709623800"]
