"""Crawl ingest with 1 vs 2 scrapy-redis workers sharing one frontier (issue 9, benchmark b).

    python bench/bench_crawl_redis.py [--feeds 12] [--pages 5] [--per-page 40] [--latency-s 0.05]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--redis-url redis://127.0.0.1:6379/0]

A LocalSite serves `feeds` Atom feeds of `pages` chained pages each (every page answers after
`latency-s`, like a real server); each layout crawls them into a fresh migrated PostgreSQL database with
1 or 2 `vocwatch crawl --worker` equivalents (`vocwatch.daemon.crawl.run_crawl_worker`: own process each,
RunSpec on stdin, shared scrapy-redis round). Prints items/s over the wall time (process start-up
included) and over the crawl itself (first crawl_run start to the last item stored: the workers' idle
wait for more pages is not counted), and the ratio to 1 worker.
A benchmark, not a test: numbers depend on the machine and on what else runs (load average printed).
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import storage
from storage import models
from vocwatch.daemon.crawl import run_crawl_worker
from vocwatch.settings import SourceSettings, load_settings
from vocwatch.testing.localsite import LocalSite, Reply

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


def atom_page(feed: int, page: int, pages: int, per_page: int) -> bytes:
    now = datetime.now(UTC)
    next_link = f'<link rel="next" href="/f{feed}/{page + 1}.atom"/>' if page < pages else ""
    entries = "".join(
        f"<entry><id>urn:bench:{feed}:{page}:{i}</id><title>Post {feed}-{page}-{i}</title>"
        f'<link href="https://news.example/{feed}/{page}/{i}"/>'
        f"<updated>{(now - timedelta(minutes=page * per_page + i)).strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
        f"<content type='text'>Acme delivery was late again, item {feed}-{page}-{i}.</content></entry>"
        for i in range(per_page)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>f{feed}</title>'
        f"<id>urn:bench:{feed}</id><updated>{now:%Y-%m-%dT%H:%M:%SZ}</updated>{next_link}{entries}</feed>"
    ).encode()


def _admin(admin_url: str, statement: sql.Composed) -> None:
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)


def run_layout(args: argparse.Namespace, site: LocalSite, workers: int) -> tuple[float, float, int]:
    """(wall s, crawl s, items stored) for one layout on a fresh database and a fresh source name."""
    name = f"vocwatch_bench_{secrets.token_hex(4)}"
    _admin(args.admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    source_name = f"bench_{secrets.token_hex(4)}"
    source = SourceSettings(
        kind="rss", urls=[site.url(f"/f{feed}/1.atom") for feed in range(args.feeds)], every_minutes=30
    )
    settings = load_settings(
        None,
        database_url=url,
        crawl={
            "redis_url": args.redis_url,
            "download_delay_s": 0.0,
            "obey_robots": False,
            "max_pages": 10_000,
            "lookback_days": 3650,
            "worker_idle_s": 5,
        },
        sources={source_name: source},
    )
    engine = storage.make_engine(url)
    try:
        storage.upgrade(engine)
        with storage.make_session_factory(engine).begin() as session:
            storage.sources.upsert_source(
                session, name=source_name, kind="rss", config={}, default_touchpoint=None
            )
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            outcomes = list(
                pool.map(lambda _: run_crawl_worker(settings, source_name, source), range(workers))
            )
        wall_s = time.perf_counter() - started
        assert all(outcome.ok for outcome in outcomes), [o.stderr_tail for o in outcomes]
        with storage.make_session_factory(engine)() as session:
            items = session.scalar(select(func.count()).select_from(models.Mention)) or 0
            first = session.scalar(select(func.min(models.CrawlRun.started_at)))
            last = session.scalar(select(func.max(models.Mention.collected_at)))  # not the workers' idle wait
            assert first is not None and last is not None
    finally:
        engine.dispose()
        _admin(
            args.admin_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    return wall_s, (last - first).total_seconds(), items


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=12)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--per-page", type=int, default=40)
    parser.add_argument("--latency-s", type=float, default=0.05)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    expected = args.feeds * args.pages * args.per_page
    print(
        f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}; {args.feeds} feeds × "
        f"{args.pages} pages × {args.per_page} items = {expected} items, "
        f"{args.latency_s * 1000:.0f} ms per page"
    )
    baseline: float | None = None
    for workers in (1, 2):
        with LocalSite(None, conditional=False) as site:
            for feed in range(args.feeds):
                for page in range(1, args.pages + 1):
                    path = f"/f{feed}/{page}.atom"
                    site.set_content(
                        path,
                        atom_page(feed, page, args.pages, args.per_page),
                        content_type="application/atom+xml",
                    )
                    site.script(path, Reply(body=None, delay_s=args.latency_s))  # each page is fetched once
            wall_s, crawl_s, items = run_layout(args, site, workers)
        assert items == expected, (items, expected)
        rate = items / crawl_s
        baseline = baseline or rate
        print(
            f"{workers} worker(s): {items} items, wall {wall_s:5.1f} s ({items / wall_s:6.1f} items/s), "
            f"crawl {crawl_s:5.1f} s ({rate:6.1f} items/s, ×{rate / baseline:.2f} vs 1 worker; "
            f"load average {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
