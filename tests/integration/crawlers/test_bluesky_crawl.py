"""Real bluesky crawls: createSession with an app password, searchPosts paged by cursor, a 500 retried."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from storage import CrawlRunStatus
from tests.support.api_site import case_body, json_reply
from tests.support.crawling import CrawlDb, run_crawl, runspec
from tests.support.sites import LocalSite, Reply

SESSION = "/pds/xrpc/com.atproto.server.createSession"
SEARCH = "/pds/xrpc/app.bsky.feed.searchPosts"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


def bluesky_spec(db: CrawlDb, site: LocalSite) -> dict[str, Any]:
    return runspec(
        db,
        [],
        kind="bluesky",
        query="acme",
        params={"service_url": site.url("/pds"), "limit": 2},
        credentials={"handle": "monitor.acme.example", "app_password": APP_PASSWORD},
        log_level="DEBUG",
    )


def script_session(site: LocalSite) -> None:
    site.script(
        SESSION, json_reply({"did": "did:plc:me", "handle": "monitor.acme.example", "accessJwt": "jwt-1"})
    )


def test_search_logs_in_and_follows_the_cursor(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    script_session(local_site)
    local_site.script(
        SEARCH,
        json_reply(case_body("bluesky", "search-page")),
        Reply(500, {}, b"upstream failure"),
        json_reply(case_body("bluesky", "last-page")),
    )

    crawl = run_crawl(bluesky_spec(sqlite_crawl_db, local_site))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.items_new) == (CrawlRunStatus.OK, "completed", 3)
    assert run.http_status_counts == {"200": 3, "500": 1}
    post = sqlite_crawl_db.mentions()["at://did:plc:abc123/app.bsky.feed.post/3kabc1"]
    assert post.text == "Acme’s “fix” is here: https://acme.example/support/kettle-recall still broken"
    assert (post.url, post.author, post.lang) == (
        "https://bsky.app/profile/jo.bsky.social/post/3kabc1",
        "jo.bsky.social",
        "en",
    )
    assert (post.replies, post.reposts, post.likes) == (1, 2, 3)
    assert post.published_at == datetime(2024, 3, 5, 7, 30, 0, 123456, tzinfo=UTC)
    [login] = local_site.requests_for(SESSION)
    assert login.method == "POST"
    first, failed, retried = local_site.requests_for(SEARCH)
    assert first.headers["authorization"] == "Bearer jwt-1"
    assert parse_qs(urlsplit(first.path).query) == {"q": ["acme"], "sort": ["latest"], "limit": ["2"]}
    assert parse_qs(urlsplit(retried.path).query)["cursor"] == ["2"]
    assert failed.status == 500
    assert APP_PASSWORD not in crawl.stderr and "jwt-1" not in crawl.stderr


def test_second_run_inserts_nothing(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    script_session(local_site)
    local_site.script(
        SEARCH, json_reply(case_body("bluesky", "search-page")), json_reply(case_body("bluesky", "last-page"))
    )
    assert run_crawl(bluesky_spec(sqlite_crawl_db, local_site)).returncode == 0
    script_session(local_site)
    local_site.script(SEARCH, json_reply(case_body("bluesky", "search-page")))

    second = run_crawl(bluesky_spec(sqlite_crawl_db, local_site))

    assert second.returncode == 0, second.stderr
    run = sqlite_crawl_db.runs()[1]
    assert (run.items_new, run.stop_reason) == (0, "caught_up")
    assert len(local_site.requests_for(SEARCH)) == 3


def test_wrong_app_password_is_auth_failed(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    refusal = {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    local_site.script(SESSION, json_reply(refusal, status=401))

    crawl = run_crawl(bluesky_spec(sqlite_crawl_db, local_site))

    assert crawl.returncode == 1
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason) == (CrawlRunStatus.FAILED, "auth_failed")
    assert local_site.requests_for(SEARCH) == []
    assert APP_PASSWORD not in crawl.stderr
