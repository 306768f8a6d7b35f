"""Real appstore crawls: every page of the reviews feed up to its last, and the 10-page cap recorded."""

from __future__ import annotations

import json
from typing import Any

from crawlers.parsing.appstore import FEED_PAGE_CAP
from storage import CrawlRunStatus
from tests.support.api_site import case_body
from tests.support.crawling import CrawlDb, run_crawl, runspec
from tests.support.sites import LocalSite

APP = "1234567890"
FEED = "/itunes/jp/rss/customerreviews/page={}/id=" + APP + "/sortby=mostrecent/json"


def appstore_spec(db: CrawlDb, site: LocalSite) -> dict[str, Any]:
    params = {"app_id": APP, "countries": ["jp"], "base_url": site.url("/itunes")}
    return runspec(db, [], kind="appstore", params=params)


def feed_page(first_id: int, count: int, *, last: int) -> bytes:
    """A feed page of `count` reviews with ids counting down from `first_id` (most recent first)."""
    entries = [
        {
            "id": {"label": str(first_id - n)},
            "im:rating": {"label": "3"},
            "im:version": {"label": "2.0"},
            "title": {"label": f"review {first_id - n}"},
            "content": {"label": "It is fine."},
            "author": {"name": {"label": "someone"}},
        }
        for n in range(count)
    ]
    links = [
        {
            "attributes": {
                "rel": "last",
                "href": f"https://itunes.apple.com/jp/rss/customerreviews/page={last}/json",
            }
        }
    ]
    return json.dumps({"feed": {"entry": entries, "link": links}}).encode()


def serve(site: LocalSite, page: int, body: bytes) -> None:
    site.set_content(FEED.format(page), body, content_type="application/json")


def test_all_pages_up_to_the_last_are_read(sqlite_crawl_db: CrawlDb, plain_site: LocalSite) -> None:
    serve(plain_site, 1, case_body("appstore", "first-page"))  # its `last` link says page 3
    serve(plain_site, 2, feed_page(9_000, 2, last=3))
    serve(plain_site, 3, feed_page(8_000, 1, last=3))

    crawl = run_crawl(appstore_spec(sqlite_crawl_db, plain_site))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.items_new, run.pages) == (CrawlRunStatus.OK, "completed", 5, 3)
    review = sqlite_crawl_db.mentions()["10000000002"]
    assert (review.title, review.text, review.author, review.rating) == (
        "配送が遅い",
        "注文から５日、まだ届きません！\nサポートも返事なし。",
        "ヤミ。",
        0.25,  # 2 stars of 1..5, as every kind stores ratings
    )
    assert json.loads(review.raw)["im:version"] == {"label": "2.4.1"}
    assert plain_site.requests_for(FEED.format(4)) == []

    second = run_crawl(appstore_spec(sqlite_crawl_db, plain_site))

    assert second.returncode == 0, second.stderr
    run = sqlite_crawl_db.runs()[1]
    assert (run.items_new, run.stop_reason, run.pages) == (0, "caught_up", 1)


def test_a_feed_full_to_its_cap_is_recorded_as_cap_reached(
    sqlite_crawl_db: CrawlDb, plain_site: LocalSite
) -> None:
    for page in range(1, FEED_PAGE_CAP + 1):
        serve(plain_site, page, feed_page(100_000 - 50 * page, 50, last=FEED_PAGE_CAP))

    crawl = run_crawl(appstore_spec(sqlite_crawl_db, plain_site))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.items_new, run.pages) == (
        CrawlRunStatus.OK,
        "cap_reached",
        500,
        10,
    )
    assert plain_site.requests_for(FEED.format(FEED_PAGE_CAP + 1)) == []
