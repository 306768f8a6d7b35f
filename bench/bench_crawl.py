"""Crawl ingest throughput: items/s that one crawler process stores from a local server into SQLite.

    python bench/bench_crawl.py [--kind profile|rss] [--items 2000] [--per-page 50]

A LocalSite serves generated pages (a GBK forum thread for `profile`, a paged Atom feed for `rss`);
`python -m crawlers` crawls them exactly as `vocwatch crawl` does (own process, RunSpec on stdin, all
pipelines and the ledger) into a fresh migrated SQLite file. Prints items/s over the whole process
(start-up included) and over the crawl itself (the crawl_run's own duration). A benchmark, not a test:
numbers depend on the machine and what else it is doing. Pages are chained by next links, so they are
fetched one after another, like the real sites.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

import storage
from storage import models
from vocwatch.testing.localsite import LocalSite

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = "bench"
PROFILE_RULES = {
    "item": "div.post",
    "text": "div.content",
    "author": "span.user::text",
    "date": "span.time::text",
    "id": "::attr(data-pid)",
    "next_page": "a.next::attr(href)",
}


def profile_page(page: int, pages: int, per_page: int) -> bytes:
    posts = "".join(
        f'<div class="post" data-pid="p{page}-{i}"><span class="user">用户{i}</span>'
        f'<span class="time">{(page * per_page + i) % 59 + 1}分钟前</span>'
        f'<div class="content"><p>第{page}页第{i}楼：快递太慢了，等了５天还没到！</p>'
        "<p>客服电话一直占线。</p></div></div>"
        for i in range(per_page)
    )
    more = f'<a class="next" href="/t/{page + 1}.html">下一页</a>' if page + 1 < pages else ""
    return f"<html><head><title>售后</title></head><body>{posts}{more}</body></html>".encode("gbk")


def atom_page(page: int, pages: int, per_page: int) -> bytes:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    entries = "".join(
        f"<entry><id>urn:bench:{page}-{i}</id><title>Post {page}-{i}</title>"
        f'<link href="https://news.example/{page}/{i}"/>'
        f"<updated>{(start - timedelta(minutes=page * per_page + i)).isoformat()}</updated>"
        f"<content type='html'>&lt;p&gt;Acme delivery was late again, item {page}-{i}.&lt;/p&gt;</content>"
        "</entry>"
        for i in range(per_page)
    )
    more = f'<link rel="next" href="/feed/{page + 1}.atom"/>' if page + 1 < pages else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>bench</title><id>urn:bench</id><updated>{start.isoformat()}</updated>{more}{entries}</feed>"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["profile", "rss"], default="profile")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--per-page", type=int, default=50)
    args = parser.parse_args()
    pages = -(-args.items // args.per_page)

    with tempfile.TemporaryDirectory() as tmp, LocalSite() as site:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = storage.make_engine(url)
        storage.upgrade(engine)
        sessions = storage.make_session_factory(engine)
        with sessions.begin() as session:
            storage.sources.upsert_source(
                session, name=SOURCE, kind=args.kind, config={}, default_touchpoint=None
            )
        for page in range(pages):
            if args.kind == "profile":
                body = profile_page(page, pages, args.per_page)
                site.set_content(f"/t/{page}.html", body, content_type="text/html; charset=GBK")
            else:
                site.set_content(f"/feed/{page}.atom", atom_page(page, pages, args.per_page))
        first = "/t/0.html" if args.kind == "profile" else "/feed/0.atom"
        spec = {
            "source_name": SOURCE,
            "kind": args.kind,
            "urls": [site.url(first)],
            "params": PROFILE_RULES if args.kind == "profile" else {},
            "database_url": url,
            "download_delay_s": 0,
            "lookback_days": None,
            "max_pages": pages + 1,
            "concurrency_per_domain": 8,
        }
        began = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "crawlers"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=False,
        )
        elapsed = time.perf_counter() - began
        if completed.returncode != 0:
            sys.exit(f"crawl failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
        with sessions() as session:
            stored = session.scalar(select(func.count()).select_from(models.Mention)) or 0
            run = session.scalars(select(models.CrawlRun)).one()
            assert run.finished_at is not None
            crawl_s = (run.finished_at - run.started_at).total_seconds()
        engine.dispose()

    print(f"kind={args.kind} pages={pages} items stored={stored}")
    print(f"whole process: {elapsed:.2f} s  -> {stored / elapsed:.0f} items/s (start-up included)")
    print(f"crawl itself:  {crawl_s:.2f} s  -> {stored / crawl_s:.0f} items/s")


if __name__ == "__main__":
    main()
