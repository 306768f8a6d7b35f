"""Real mastodon crawls: a hashtag timeline paged by its Link header, a token, `since_id` on the next run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from storage import CrawlRunStatus
from tests.support.api_site import case_body, json_reply
from tests.support.crawling import CrawlDb, run_crawl, runspec
from tests.support.sites import LocalSite

TIMELINE = "/masto/api/v1/timelines/tag/acme"
OLDER = [
    {
        "id": "111000000000000001",
        "uri": "https://mastodon.example/users/ana/statuses/111000000000000001",
        "url": "https://mastodon.example/@ana/111000000000000001",
        "created_at": "2024-03-04T10:00:00.000Z",
        "content": "<p>Acme support fixed it in ten minutes.</p>",
        "spoiler_text": "",
        "language": "en",
        "replies_count": 0,
        "reblogs_count": 1,
        "favourites_count": 4,
        "reblog": None,
        "account": {"acct": "ana", "followers_count": 50},
    }
]


def mastodon_spec(db: CrawlDb, site: LocalSite) -> dict[str, Any]:
    params = {"instance_url": site.url("/masto"), "tags": ["#acme"]}
    return runspec(db, [], kind="mastodon", params=params, credentials={"access_token": "mtok-1"})


def test_timeline_follows_link_header_and_next_run_asks_since_id(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite
) -> None:
    next_link = f'<{local_site.url(TIMELINE)}?limit=40&max_id=112000000000000001>; rel="next"'
    local_site.script(
        TIMELINE, json_reply(case_body("mastodon", "tag-timeline"), Link=next_link), json_reply(OLDER)
    )

    crawl = run_crawl(mastodon_spec(sqlite_crawl_db, local_site))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.items_new, run.pages) == (CrawlRunStatus.OK, "completed", 3, 2)
    mentions = sqlite_crawl_db.mentions()
    rant = mentions["https://social.other.example/users/max/statuses/998877"]
    assert (rant.title, rant.text, rant.author, rant.lang) == (
        "acme app rant",
        "Rant about the app update\nIt logs me out every hour.",
        "max@social.other.example",
        "de",
    )
    first = mentions["https://mastodon.example/users/jo/statuses/112000000000000003"]
    assert first.text == "My #acme order is 5 days late & support won't answer.\n\nNever again."
    assert (first.replies, first.reposts, first.likes, first.author_followers) == (2, 3, 10, 120)
    assert first.published_at == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert "https://mastodon.example/users/jo/statuses/112000000000000001" not in mentions  # a boost
    page_1, page_2 = local_site.requests_for(TIMELINE)
    assert page_1.headers["authorization"] == "Bearer mtok-1"
    assert parse_qs(urlsplit(page_2.path).query)["max_id"] == ["112000000000000001"]
    assert sqlite_crawl_db.cursor() == {"newest": {"tag:acme": "112000000000000003"}}

    local_site.script(TIMELINE, json_reply(case_body("mastodon", "tag-timeline")))
    second = run_crawl(mastodon_spec(sqlite_crawl_db, local_site))

    assert second.returncode == 0, second.stderr
    assert (sqlite_crawl_db.runs()[1].items_new, sqlite_crawl_db.runs()[1].stop_reason) == (0, "caught_up")
    asked = local_site.requests_for(TIMELINE)[2]
    assert parse_qs(urlsplit(asked.path).query)["since_id"] == ["112000000000000003"]
    assert len(sqlite_crawl_db.mentions()) == 3
