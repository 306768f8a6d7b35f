"""Real reddit crawls: OAuth login, search pages by `after`, comment trees, a refused login, a second run."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from storage import CrawlRunStatus
from tests.support.api_site import case_body, json_reply
from tests.support.crawling import CrawlDb, run_crawl, runspec
from tests.support.sites import LocalSite, Reply

CLIENT_ID, CLIENT_SECRET = "acme-app", "s3cr3t-never-logged"
TOKEN = "/reddit/api/v1/access_token"
SEARCH = "/oauth/search.json"
OLDER = {
    "kind": "Listing",
    "data": {
        "after": None,
        "children": [
            {
                "kind": "t3",
                "data": {
                    "name": "t3_1abcdg",
                    "id": "1abcdg",
                    "author": "quiet_buyer",
                    "title": "Acme kettle: fine so far",
                    "selftext": "",
                    "created_utc": 1709600000,
                    "score": 2,
                    "num_comments": 0,
                    "permalink": "/r/acme/comments/1abcdg/fine/?ref=search_posts",
                },
            }
        ],
    },
}
NO_COMMENTS = [{"kind": "Listing", "data": {"children": []}}, {"kind": "Listing", "data": {"children": []}}]


def reddit_spec(db: CrawlDb, site: LocalSite, **params: Any) -> dict[str, Any]:
    return runspec(
        db,
        [],
        kind="reddit",
        query="acme",
        params={"oauth_url": site.url("/oauth"), "token_url": site.url(TOKEN), **params},
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        log_level="DEBUG",
    )


def script_login(site: LocalSite) -> None:
    site.script(TOKEN, json_reply({"access_token": "tok-123", "token_type": "bearer", "expires_in": 86400}))


def query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def test_oauth_search_follows_after_and_reads_comment_trees(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite
) -> None:
    script_login(local_site)
    local_site.script(
        SEARCH,
        Reply(429, {"Retry-After": "1"}, b"slow down"),
        json_reply(case_body("reddit", "search-listing")),
        json_reply(OLDER),
    )
    local_site.script("/oauth/comments/1abcde.json", json_reply(case_body("reddit", "comment-tree")))
    local_site.script("/oauth/comments/1abcdf.json", json_reply(NO_COMMENTS))
    local_site.script("/oauth/comments/1abcdg.json", json_reply(NO_COMMENTS))

    crawl = run_crawl(reddit_spec(sqlite_crawl_db, local_site, comments=True))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.items_new, run.items_failed) == (
        CrawlRunStatus.OK,
        "completed",
        6,
        0,
    )
    assert run.http_status_counts == {"200": 6, "429": 1}
    mentions = sqlite_crawl_db.mentions()
    assert set(mentions) == {"t3_1abcde", "t3_1abcdf", "t3_1abcdg", "t1_kc1", "t1_kc2", "t1_kc3"}
    post = mentions["t3_1abcde"]
    assert (post.title, post.author, post.score, post.replies) == (
        "Acme kettle leaks after 2 weeks",
        "kettle_owner",
        42,
        7,
    )
    assert post.url == "https://www.reddit.com/r/acme/comments/1abcde/acme_kettle_leaks_after_2_weeks/"
    assert post.text == (
        'Acme kettle leaks after 2 weeks\n\nSupport said "3-5 days" & then nothing.\n\nAnyone else? <sigh>'
    )
    assert post.published_at == datetime(2024, 3, 5, 7, 10, tzinfo=UTC)
    reply = mentions["t1_kc2"]
    assert (reply.text, reply.author, reply.url) == (
        "Sorry to hear that! DM us your order number.",
        "acme_support",
        "https://www.reddit.com/comments/1abcde/_/kc2/",
    )
    assert (reply.parent_external_id, reply.thread_external_id) == ("t1_kc1", "t3_1abcde")
    assert (post.parent_external_id, post.thread_external_id) == (None, None)
    [login] = local_site.requests_for(TOKEN)
    assert login.method == "POST"
    assert login.headers["authorization"] == "Basic " + base64.b64encode(
        f"{CLIENT_ID}:{CLIENT_SECRET}".encode()
    ).decode("ascii")
    limited, first, second = local_site.requests_for(SEARCH)
    assert first.at - limited.at >= 0.9  # waited what Retry-After asked
    assert first.headers["authorization"] == "Bearer tok-123"
    assert query_of(first.path)["raw_json"] == ["1"] and query_of(first.path)["sort"] == ["new"]
    assert query_of(second.path)["after"] == ["t3_1abcdf"]
    assert CLIENT_SECRET not in crawl.stderr and "tok-123" not in crawl.stderr


def test_second_run_stops_at_stored_submissions(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    script_login(local_site)
    local_site.script(SEARCH, json_reply(case_body("reddit", "search-listing")), json_reply(OLDER))
    assert run_crawl(reddit_spec(sqlite_crawl_db, local_site)).returncode == 0
    script_login(local_site)
    local_site.script(SEARCH, json_reply(case_body("reddit", "search-listing")))

    second = run_crawl(reddit_spec(sqlite_crawl_db, local_site))

    assert second.returncode == 0, second.stderr
    _, run = sqlite_crawl_db.runs()
    assert (run.items_new, run.items_duplicate, run.stop_reason) == (0, 2, "caught_up")
    assert len(local_site.requests_for(SEARCH)) == 3  # the second run read one page only
    assert len(sqlite_crawl_db.mentions()) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_end_the_run_as_auth_failed(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite, status: int
) -> None:
    local_site.script(TOKEN, json_reply({"message": "Unauthorized", "error": status}, status=status))

    crawl = run_crawl(reddit_spec(sqlite_crawl_db, local_site))

    assert crawl.returncode == 1
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.error) == (
        CrawlRunStatus.FAILED,
        "auth_failed",
        f"credentials refused: HTTP {status}×1",
    )
    assert local_site.requests_for(SEARCH) == []
    assert CLIENT_SECRET not in crawl.stderr
    assert crawl.summary is not None and crawl.summary["stop_reason"] == "auth_failed"


def test_api_endpoints_are_crawled_where_robots_txt_disallows_all_but_feeds_are_not(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite
) -> None:
    """reddit's robots.txt is "Disallow: /": its documented API is still read, a page kind is blocked."""
    local_site.set_content("/robots.txt", b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    script_login(local_site)
    local_site.script(SEARCH, json_reply(case_body("reddit", "search-listing")), json_reply(OLDER))

    api = run_crawl(reddit_spec(sqlite_crawl_db, local_site))

    assert api.returncode == 0, api.stderr
    assert len(sqlite_crawl_db.mentions()) == 3
    assert [r.path for r in local_site.requests if r.path == "/robots.txt"] == []

    feed = run_crawl(runspec(sqlite_crawl_db, [local_site.url("/feeds/news.xml")]))

    assert feed.returncode == 1
    _, run = sqlite_crawl_db.runs()
    assert (run.stop_reason, run.error) == ("blocked", "no page fetched: 1 forbidden by robots.txt")
    assert local_site.requests[-1].path == "/robots.txt"


def test_hashed_authors_are_stable_keyed_pseudonyms(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    key = "installation-secret-0123456789"
    script_login(local_site)
    local_site.script(SEARCH, json_reply(case_body("reddit", "search-listing")), json_reply(OLDER))

    crawl = run_crawl(
        reddit_spec(sqlite_crawl_db, local_site) | {"author_privacy": "hash", "author_hash_key": key}
    )

    assert crawl.returncode == 0, crawl.stderr
    token = "sha256:" + hmac.new(key.encode(), b"kettle_owner", hashlib.sha256).hexdigest()[:16]
    mentions = sqlite_crawl_db.mentions()
    assert mentions["t3_1abcde"].author == token
    assert mentions["t3_1abcdg"].author != mentions["t3_1abcde"].author  # another author, another token
    assert all((m.author or "").startswith("sha256:") for m in mentions.values())
    assert key not in crawl.stderr
