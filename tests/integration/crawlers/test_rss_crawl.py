"""Real crawls: `python -m crawlers` against a local HTTP server into a real migrated database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from storage import CrawlRunStatus, MentionStatus
from tests.support.crawling import SOURCE, CrawlDb, make_crawl_db, run_crawl, runspec
from tests.support.sites import DATA_DIR, LocalSite, Reply, serve_page_case

CASES = DATA_DIR / "pages" / "rss"
PAGED = "/feeds/paged/page-{}.atom"


def feed_urls(site: LocalSite) -> list[str]:
    return [serve_page_case(site, CASES / name) for name in ("news-rss20", "latin1-rss", "gb2312-rss")]


def test_crawl_stores_named_mentions_and_one_crawl_run(crawl_db: CrawlDb, local_site: LocalSite) -> None:
    urls = feed_urls(local_site)
    user_agent = "acme-monitor/1.0 (+https://acme.example/bot)"

    crawl = run_crawl(runspec(crawl_db, urls, user_agent=user_agent))

    assert crawl.returncode == 0, crawl.stderr
    run_id = crawl_db.runs()[0].id
    assert crawl.summary == {
        "source": SOURCE, "run_id": run_id, "status": "ok", "stop_reason": "completed", "error": None,
        "pages": 3, "items_seen": 8, "items_new": 7, "items_duplicate": 0, "items_failed": 1,
    }  # fmt: skip
    mentions = crawl_db.mentions()
    assert len(mentions) == 7  # the item with neither guid nor link was dropped
    recall = mentions["retail-daily-8812"]
    assert recall.source_id == crawl_db.source_id
    assert recall.url == "https://retail-daily.example/2024/03/acme-kettle-recall"
    assert recall.title == 'Acme Kettle recall: "We waited 3 weeks & nobody called"'
    assert recall.text == (
        "Customers say Acme’s kettle recall is a mess.\n\n"
        "“I was told a replacement ships in 3 weeks…”, said one reader.\nAnother: never again."
    )
    assert recall.author == "Jo Bloggs"
    assert recall.published_at == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert recall.lang == "en"
    assert (recall.rating, recall.score, recall.likes) == (None, None, None)
    assert recall.touchpoint_id == crawl_db.touchpoint_id
    assert recall.status == MentionStatus.NEW
    assert recall.duplicate_of_id is None
    assert json.loads(recall.raw)["tags"] == ["Recalls"]
    store = mentions[local_site.url("/2024/03/acme-100th-store")]  # relative link, no guid: the URL is the id
    assert (store.author, store.text) == (
        "Acme Press Office",
        "The new store in Leeds has a repair desk & café.",
    )
    chinese = mentions["xiaofei-1001"]
    assert chinese.title == "Acme快递太慢了！"
    assert chinese.text == "等了５天还没到，客服态度也很差。\n\n再也不买了 ！"
    assert (chinese.author, chinese.lang) == ("王喆", "zh")
    assert chinese.published_at == datetime(2024, 3, 7, 12, 15, tzinfo=UTC)
    portuguese = mentions["https://consumidor.example/2024/03/acme-entrega"]
    assert portuguese.text == "O cliente João diz: «A encomenda não chegou e ninguém responde.»"

    [run] = crawl_db.runs()
    assert run.status == CrawlRunStatus.OK
    assert (run.items_seen, run.items_new, run.items_duplicate, run.items_failed, run.pages) == (
        8,
        7,
        0,
        1,
        3,
    )
    assert run.http_status_counts == {"200": 3}
    assert (run.stop_reason, run.error) == ("completed", None)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert set((crawl_db.cursor() or {})["validators"]) == set(urls)
    assert {r.headers["user-agent"] for r in local_site.requests} == {user_agent}


def test_second_run_of_unchanged_feeds_inserts_nothing(crawl_db: CrawlDb, local_site: LocalSite) -> None:
    urls = feed_urls(local_site)
    assert run_crawl(runspec(crawl_db, urls)).returncode == 0

    second = run_crawl(runspec(crawl_db, urls))

    assert second.returncode == 0, second.stderr
    assert second.summary is not None
    assert (second.summary["items_new"], second.summary["stop_reason"]) == (0, "not_modified")
    assert len(crawl_db.mentions()) == 7
    first_run, second_run = crawl_db.runs()
    assert second_run.http_status_counts == {"304": 3}  # conditional GET with the stored validators
    assert (second_run.items_seen, second_run.items_new, second_run.pages) == (0, 0, 3)
    assert first_run.items_new == 7


def test_second_run_without_validators_stops_at_stored_items(
    sqlite_crawl_db: CrawlDb, plain_site: LocalSite
) -> None:
    urls = feed_urls(plain_site)
    assert run_crawl(runspec(sqlite_crawl_db, urls)).returncode == 0

    second = run_crawl(runspec(sqlite_crawl_db, urls))

    assert second.returncode == 0, second.stderr
    run = sqlite_crawl_db.runs()[1]
    assert (run.items_seen, run.items_new, run.items_duplicate, run.items_failed) == (8, 0, 7, 1)
    assert (run.status, run.stop_reason, run.http_status_counts) == (
        CrawlRunStatus.OK,
        "caught_up",
        {"200": 3},
    )
    assert len(sqlite_crawl_db.mentions()) == 7


def test_paged_feed_is_followed_and_a_new_item_alone_is_stored_next_time(
    sqlite_crawl_db: CrawlDb, plain_site: LocalSite
) -> None:
    first = run_crawl(runspec(sqlite_crawl_db, [plain_site.url(PAGED.format(1))]))
    assert first.returncode == 0, first.stderr
    assert first.summary is not None
    assert (first.summary["pages"], first.summary["items_new"]) == (3, 8)
    post = sqlite_crawl_db.mentions()["urn:acme-forum:post:6"]
    assert (post.title, post.text, post.author) == (
        "Acme courier left my parcel in the rain",
        "The box was soaked and the manual ruined.",
        "member6",
    )
    assert (post.url, post.published_at) == (
        "https://forum.acme.example/posts/6",
        datetime(2024, 3, 7, 18, 30, tzinfo=UTC),
    )
    page_1 = (DATA_DIR / "feeds/paged/page-1.atom").read_text(encoding="utf-8")
    new_entry = (
        "<entry><title>Acme outage tonight</title><id>urn:acme-forum:post:9</id>"
        '<link href="https://forum.acme.example/posts/9"/><updated>2024-03-09T07:00:00Z</updated>'
        '<content type="text">Nothing works since 6am.</content></entry>\n  <entry>'
    )
    plain_site.set_content(
        PAGED.format(1), page_1.replace("<entry>", new_entry, 1).encode(), content_type="application/atom+xml"
    )

    second = run_crawl(runspec(sqlite_crawl_db, [plain_site.url(PAGED.format(1))]))

    assert second.returncode == 0, second.stderr
    assert second.summary is not None
    assert (second.summary["items_new"], second.summary["stop_reason"], second.summary["pages"]) == (
        1,
        "caught_up",
        1,
    )
    assert sqlite_crawl_db.mentions()["urn:acme-forum:post:9"].text == "Nothing works since 6am."
    assert len(plain_site.requests_for(PAGED.format(2))) == 1  # page 2 was not fetched again


def test_page_budget_caps_the_crawl(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    crawl = run_crawl(runspec(sqlite_crawl_db, [local_site.url(PAGED.format(1))], max_pages=2))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.pages, run.items_new) == (CrawlRunStatus.OK, "cap_reached", 2, 6)
    assert local_site.requests_for(PAGED.format(3)) == []


def test_rate_limited_feed_waits_for_retry_after_then_is_crawled(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite
) -> None:
    url = serve_page_case(local_site, CASES / "news-rss20")
    path = "/pages/rss/news-rss20/body"
    local_site.script(path, Reply(429, {"Retry-After": "1"}, b"slow down"))

    crawl = run_crawl(runspec(sqlite_crawl_db, [url]))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.items_new, run.http_status_counts) == (CrawlRunStatus.OK, 3, {"200": 1, "429": 1})
    rate_limited, served = local_site.requests_for(path)
    assert (rate_limited.status, served.status) == (429, 200)
    assert served.at - rate_limited.at >= 0.9  # it waited what Retry-After asked


def test_server_error_then_success_is_retried(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    url = serve_page_case(local_site, CASES / "gb2312-rss")
    local_site.script("/pages/rss/gb2312-rss/body", Reply(500, {}, b"oops"))

    crawl = run_crawl(runspec(sqlite_crawl_db, [url]))

    assert crawl.returncode == 0, crawl.stderr
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.items_new, run.http_status_counts) == (CrawlRunStatus.OK, 2, {"200": 1, "500": 1})


@pytest.mark.parametrize(
    ("reply", "stop_reason", "statuses"),
    [
        (Reply(403, {}, b"forbidden"), "blocked", {"403": 1}),
        (Reply(401, {}, b"who are you"), "auth_failed", {"401": 1}),
        (Reply(429, {"Retry-After": "3600"}, b"come back in an hour"), "rate_limited", {"429": 1}),
    ],
    ids=["403", "401", "429-too-long"],
)
def test_source_that_refuses_us_is_a_failed_run_with_the_reason(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite, reply: Reply, stop_reason: str, statuses: dict[str, int]
) -> None:
    local_site.script("/feeds/paged/page-1.atom", reply)

    crawl = run_crawl(runspec(sqlite_crawl_db, [local_site.url(PAGED.format(1))]))

    assert crawl.returncode == 1
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.http_status_counts) == (
        CrawlRunStatus.FAILED,
        stop_reason,
        statuses,
    )
    assert run.error == "no page fetched: " + ", ".join(f"HTTP {c}×{n}" for c, n in statuses.items())
    assert crawl.last_error_line == f"vocwatch-crawl: crawl of {SOURCE!r} failed: {stop_reason}: {run.error}"
    assert sqlite_crawl_db.mentions() == {}


def test_unreachable_source_is_recorded_as_failed(sqlite_crawl_db: CrawlDb) -> None:
    with LocalSite() as gone:
        url = gone.url("/feed.xml")  # a port that refuses connections once the site is stopped

    crawl = run_crawl(runspec(sqlite_crawl_db, [url], retry_times=0))

    assert crawl.returncode == 1
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.pages, run.http_status_counts) == (
        CrawlRunStatus.FAILED,
        "unreachable",
        0,
        {},
    )
    assert run.error is not None and run.error.startswith("no page fetched: ")
    assert "ConnectionRefusedError×" in run.error  # Scrapy names it DownloadConnectionRefusedError


def test_page_that_is_not_a_feed_is_counted_as_unreadable(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite
) -> None:
    crawl = run_crawl(runspec(sqlite_crawl_db, [serve_page_case(local_site, CASES / "not-a-feed")]))

    assert crawl.returncode == 1
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason, run.error) == (
        CrawlRunStatus.FAILED,
        "unreadable",
        "1 page(s) could not be parsed",
    )
    assert sqlite_crawl_db.cursor() is None  # a failed run leaves the cursor alone


def test_robots_txt_is_obeyed(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    local_site.set_content("/robots.txt", b"User-agent: *\nDisallow: /feeds/\n", content_type="text/plain")

    crawl = run_crawl(runspec(sqlite_crawl_db, [local_site.url(PAGED.format(1))]))

    assert crawl.returncode == 1
    [run] = sqlite_crawl_db.runs()
    assert (run.stop_reason, run.error) == ("blocked", "no page fetched: 1 forbidden by robots.txt")
    assert [r.path for r in local_site.requests] == ["/robots.txt"]


def test_lookback_bounds_a_first_run(sqlite_crawl_db: CrawlDb, local_site: LocalSite) -> None:
    now = datetime.now(UTC)
    entries = "".join(
        f"<entry><title>post {n}</title><id>urn:post:{n}</id><link href='https://f.example/{n}'/>"
        f"<updated>{(now - timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')}</updated></entry>"
        for n, days in ((3, 1), (2, 20), (1, 45))
    )
    local_site.set_content(
        "/recent.atom",
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>{entries}</feed>'.encode(),
        content_type="application/atom+xml",
    )

    crawl = run_crawl(runspec(sqlite_crawl_db, [local_site.url("/recent.atom")], lookback_days=30))

    assert crawl.returncode == 0, crawl.stderr
    assert set(sqlite_crawl_db.mentions()) == {"urn:post:3", "urn:post:2"}
    [run] = sqlite_crawl_db.runs()
    assert (run.items_seen, run.items_new, run.stop_reason) == (3, 2, "lookback_reached")


def test_unknown_source_fails_in_one_line_and_records_nothing(migrated_sqlite_url: str) -> None:
    db = make_crawl_db(migrated_sqlite_url, with_source=False)
    try:
        crawl = run_crawl(runspec(db, ["http://127.0.0.1:9/feed.xml"]))
        assert crawl.returncode == 2
        assert crawl.last_error_line == (
            f"vocwatch-crawl: source {SOURCE!r} is not in the database: sync the config first "
            "(vocwatch crawl does)"
        )
        assert crawl.summary is None
        assert db.runs() == []
    finally:
        db.engine.dispose()


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("{not json", "vocwatch-crawl: invalid RunSpec: (root): Invalid JSON"),
        (
            '{"source_name": "x", "kind": "gopher", "database_url": "sqlite://"}',
            "vocwatch-crawl: unknown source kind",
        ),
    ],
    ids=["not-json", "unknown-kind"],
)
def test_bad_input_exits_2_with_one_line(stdin: str, message: str) -> None:
    crawl = run_crawl(stdin)
    assert crawl.returncode == 2
    assert crawl.last_error_line.startswith(message)
    assert crawl.summary is None
