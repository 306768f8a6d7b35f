"""Two `vocwatch crawl --worker` processes sharing a scrapy-redis frontier over a paginated local site:
every page is fetched once, every item stored once, and both workers take part."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from sqlalchemy import func, select

import storage
from storage import models
from tests.support.processes import Process
from tests.support.scaleout import write_config
from vocwatch.testing.localsite import LocalSite, Reply

FEEDS, PAGES, PER_PAGE = 6, 4, 5


def _atom_page(feed: int, page: int, now: datetime) -> bytes:
    """Page `page` of feed `feed`: newest first, linking the next page (RFC 5005) but the last."""
    next_link = f'<link rel="next" href="/feed-{feed}/page-{page + 1}.atom"/>' if page < PAGES else ""
    entries = []
    for n in range(PER_PAGE):
        index = (page - 1) * PER_PAGE + n
        updated = (now - timedelta(minutes=feed * 1000 + index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        entries.append(
            f"<entry><title>Post {feed}-{index}</title><id>urn:f{feed}:p{index}</id>"
            f'<link href="https://forum.example/{feed}/{index}"/><updated>{updated}</updated>'
            f'<content type="text">Feed {feed} post {index} about the brand.</content></entry>'
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Feed {feed}</title><id>urn:f{feed}</id><updated>{now:%Y-%m-%dT%H:%M:%SZ}</updated>"
        f"{next_link}{''.join(entries)}</feed>"
    ).encode()


def _serve_feeds(site: LocalSite) -> list[str]:
    now = datetime.now(UTC)
    for feed in range(1, FEEDS + 1):
        for page in range(1, PAGES + 1):
            path = f"/feed-{feed}/page-{page}.atom"
            site.set_content(path, _atom_page(feed, page, now), content_type="application/atom+xml")
            site.script(path, Reply(body=None, delay_s=0.3))  # a real site is not instant
    return [site.url(f"/feed-{feed}/page-1.atom") for feed in range(1, FEEDS + 1)]


def test_two_crawl_workers_fetch_every_page_once_and_store_every_item_once(
    tmp_path: Path, migrated_postgres_url: str, redis_url: str, processes: list[Process]
) -> None:
    source = f"forum_{secrets.token_hex(4)}"  # its own Redis keys, whatever else the server holds
    with LocalSite(None, conditional=False) as site:
        urls = _serve_feeds(site)
        config = write_config(
            tmp_path / "vocwatch.toml",
            database_url=migrated_postgres_url,
            body=f"""
[crawl]
redis_url = "{redis_url}"
worker_idle_s = 6
download_delay_s = 0
obey_robots = false
lookback_days = 3650
max_pages = 100

[sources.{source}]
kind = "rss"
urls = {urls!r}
every_minutes = 5
""".replace("'", '"'),
        )
        workers = [
            Process(config, "crawl", "--worker", source, log=tmp_path / f"crawl-{i}.log") for i in (1, 2)
        ]
        processes.extend(workers)
        for worker in workers:
            assert worker.wait(timeout_s=180) == 0, worker.text()
        fetched = [r.path for r in site.requests]

    pages = [f"/feed-{feed}/page-{page}.atom" for feed in range(1, FEEDS + 1) for page in range(1, PAGES + 1)]
    assert sorted(fetched) == sorted(pages)  # the shared dupefilter: each page once, across both workers

    engine = storage.make_engine(migrated_postgres_url)
    try:
        with storage.make_session_factory(engine)() as session:
            stored = session.scalar(select(func.count()).select_from(models.Mention))
            distinct = session.scalar(select(func.count(func.distinct(models.Mention.external_id))))
            runs = session.execute(select(models.CrawlRun.items_new, models.CrawlRun.status)).all()
    finally:
        engine.dispose()
    assert stored == distinct == FEEDS * PAGES * PER_PAGE
    assert len(runs) == 2 and {status for _, status in runs} == {storage.CrawlRunStatus.OK}
    assert sum(new for new, _ in runs) == stored
    assert min(new for new, _ in runs) > 0, runs  # both workers crawled part of the source

    # The round's frontier expires instead of lingering in Redis.
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = client.keys(f"vocwatch:crawl:{source}:*")
    assert keys and all(0 < client.ttl(key) <= 5 * 60 for key in keys)
