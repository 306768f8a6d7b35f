"""Real crawls of the `profile` kind: a GBK forum thread over two pages, through Scrapy into SQLite."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import storage
from storage import CrawlRunStatus
from tests.support.crawling import (
    REPO_ROOT,
    TOUCHPOINT,
    CrawlDb,
    make_crawl_db,
    run_crawl,
    runspec,
)
from tests.support.sites import LocalSite, Reply

SOURCE = "acme-bbs"
RULES = {
    "item": "div.post",
    "text": "div.content",
    "author": "span.user::text",
    "date": "span.time::text",
    "rating": "span.score::text",
    "id": "::attr(data-pid)",
    "next_page": "a.next::attr(href)",
}
PAGE_1 = """<html><head><title>售后</title></head><body>
<div class="post" data-pid="p1"><span class="user">小王</span><span class="time">3天前</span>
<div class="content"><p>快递太慢了，等了５天！</p><p>客服不回复。</p></div>
<span class="score">2分</span></div>
<div class="post" data-pid="p2"><span class="user">李娜</span><span class="time">2026-11-20 13:45</span>
<div class="content">镕铸外壳有裂纹</div></div>
<div class="post" data-pid="p3"><span class="user">空帖</span><div class="content"> </div></div>
<a class="next" href="/bbs/t-2.html">下一页</a></body></html>"""
PAGE_2 = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>
<div class="post" data-pid="p4"><span class="user">張三</span><span class="time">11月20日</span>
<div class="content">退款终于到账了，谢谢客服。</div><span class="score">5分</span></div></body></html>"""


@pytest.fixture
def profile_db(migrated_sqlite_url: str) -> Iterator[CrawlDb]:
    db = make_crawl_db(migrated_sqlite_url, with_source=False)
    with db.sessions.begin() as session:
        db.source_id = storage.sources.upsert_source(
            session, name=SOURCE, kind="profile", config={}, default_touchpoint=TOUCHPOINT
        ).id
    yield db
    db.engine.dispose()


def test_profile_crawl_reads_gbk_pages_with_relative_dates(
    profile_db: CrawlDb, plain_site: LocalSite
) -> None:
    # page 1: charset only in the header; page 2: only in <meta> (GB2312 declared, decoded as GB18030)
    plain_site.set_content("/bbs/t-1.html", PAGE_1.encode("gbk"), content_type="text/html; charset=GBK")
    plain_site.set_content("/bbs/t-2.html", PAGE_2.encode("gb18030"), content_type="text/html")
    plain_site.script("/bbs/t-2.html", Reply(500))  # one server error, then the page: retried
    spec = runspec(profile_db, [plain_site.url("/bbs/t-1.html")], source_name=SOURCE, kind="profile")
    spec["params"] = RULES
    before = datetime.now(UTC)

    crawl = run_crawl(spec)

    assert crawl.returncode == 0, crawl.stderr
    assert crawl.summary is not None
    assert (crawl.summary["pages"], crawl.summary["items_new"], crawl.summary["items_failed"]) == (2, 3, 1)
    mentions = profile_db.mentions()
    assert set(mentions) == {"p1", "p2", "p4"}
    first = mentions["p1"]
    assert (first.author, first.text, first.rating) == (
        "小王",
        "快递太慢了，等了５天！\n\n客服不回复。",
        0.25,
    )
    assert first.url == plain_site.url("/bbs/t-1.html")
    assert first.published_at is not None
    assert (
        before - timedelta(days=3, minutes=1) <= first.published_at <= datetime.now(UTC) - timedelta(days=3)
    )
    assert mentions["p2"].text == "镕铸外壳有裂纹"
    assert mentions["p2"].published_at == datetime(2026, 11, 20, 5, 45, tzinfo=UTC)  # Beijing 13:45
    fourth = mentions["p4"]
    assert (fourth.author, fourth.text, fourth.rating) == ("張三", "退款终于到账了，谢谢客服。", 1.0)
    assert fourth.published_at is not None and fourth.published_at.strftime("%m-%d %H:%M") == "11-19 16:00"
    [run] = profile_db.runs()
    assert run.status == CrawlRunStatus.OK
    assert run.http_status_counts == {"200": 2, "500": 1}
    assert [r.status for r in plain_site.requests_for("/bbs/t-2.html")] == [500, 200]


def test_vocwatch_crawl_runs_a_profile_source_from_the_config(plain_site: LocalSite, tmp_path: Path) -> None:
    plain_site.set_content("/bbs/t-1.html", PAGE_1.encode("gbk"), content_type="text/html; charset=GBK")
    plain_site.set_content("/bbs/t-2.html", PAGE_2.encode("gb18030"), content_type="text/html")
    params = "\n".join(f"{key} = {json.dumps(value)}" for key, value in RULES.items())
    config = tmp_path / "vocwatch.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[crawl]\ndownload_delay_s = 0\n'
        f'[sources.acme-bbs]\nkind = "profile"\nurls = ["{plain_site.url("/bbs/t-1.html")}"]\n'
        f'touchpoint = "support"\n[sources.acme-bbs.params]\n{params}\n',
        encoding="utf-8",
    )

    crawl = subprocess.run(
        [sys.executable, "-m", "vocwatch", "--config", str(config), "crawl", "acme-bbs"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip

    assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    with sqlite3.connect(tmp_path / "data" / "vocwatch.db") as db:
        rows = db.execute("SELECT external_id, author, text FROM mentions ORDER BY external_id").fetchall()
        run = db.execute(
            "SELECT items_new, items_seen, items_duplicate, items_failed, pages FROM crawl_runs"
        ).fetchone()
    # What the crawl did, in the command's words: the counts its crawl_runs row holds.
    new, seen, known, failed, pages = run
    assert (new, failed) == (len(rows), 1)  # one post of the page has no text
    counts = f"{new} new of {seen} seen ({known} known), {failed} unreadable, {pages} page(s)"
    assert f"✓ acme-bbs: {counts} (completed)" in crawl.stdout
    assert rows == [
        ("p1", "小王", "快递太慢了，等了５天！\n\n客服不回复。"),
        ("p2", "李娜", "镕铸外壳有裂纹"),
        ("p4", "張三", "退款终于到账了，谢谢客服。"),
    ]
