"""Real crawls of the `reviews` kind: `python -m crawlers` → local site → migrated SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import storage
from storage import CrawlRunStatus, MentionStatus
from tests.support.crawling import TOUCHPOINT, CrawlDb, make_crawl_db, run_crawl, runspec
from tests.support.sites import LocalSite

SOURCE = "acme-kettle-reviews"

PAGE_1 = """<html><head><link rel="canonical" href="{base}/kettle">
<link rel="next" href="/kettle/reviews-2.html">
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product", "name": "Kettle",
 "aggregateRating": {{"@type": "AggregateRating", "ratingValue": "3.2", "reviewCount": "57"}},
 "review": [
  {{"@type": "Review", "@id": "{base}/kettle#r1", "author": {{"@type": "Person", "name": "Mia"}},
    "datePublished": "2026-10-02", "name": "Leaks", "reviewBody": "Leaks from the base.",
    "reviewRating": {{"ratingValue": "1"}}}},
  {{"@type": "Review", "@id": "{base}/kettle#r2", "author": "Tom", "datePublished": "2026-09-14",
    "reviewBody": "Quiet and fast.", "reviewRating": {{"ratingValue": 5}}}}]}}
</script></head><body><h1>Kettle</h1></body></html>"""

PAGE_2 = """<html><body><div itemscope itemtype="https://schema.org/Product">
<div itemprop="review" itemscope itemtype="https://schema.org/Review">
  <span itemprop="author">Ann</span><meta itemprop="datePublished" content="2026-08-01">
  <div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">
    <span itemprop="ratingValue">4</span></div>
  <p itemprop="reviewBody">Good value.</p></div>
<div itemprop="review" itemscope itemtype="https://schema.org/Review">
  <span itemprop="author">Broken</span>
  <div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">
    <span itemprop="ratingValue">2</span></div>
</div></div>
<a class="more" href="/kettle/reviews-3.html">more</a></body></html>"""

PAGE_3 = """<html><body><div vocab="https://schema.org/" typeof="Review">
<span property="author">Li</span><meta property="datePublished" content="2026-07-07">
<div property="reviewRating" typeof="Rating"><span property="ratingValue">3</span></div>
<span property="reviewBody">It is a kettle.</span></div></body></html>"""


@pytest.fixture
def reviews_db(migrated_sqlite_url: str) -> Iterator[CrawlDb]:
    db = make_crawl_db(migrated_sqlite_url, with_source=False)
    with db.sessions.begin() as session:
        db.source_id = storage.sources.upsert_source(
            session, name=SOURCE, kind="reviews", config={}, default_touchpoint=TOUCHPOINT
        ).id
    yield db
    db.engine.dispose()


def serve_pages(site: LocalSite) -> str:
    base = site.base_url.rstrip("/")
    for path, body in (
        ("/kettle", PAGE_1.format(base=base)),
        ("/kettle/reviews-2.html", PAGE_2),
        ("/kettle/reviews-3.html", PAGE_3),
    ):
        site.set_content(path, body.encode(), content_type="text/html; charset=utf-8")
    return site.url("/kettle")


def reviews_spec(db: CrawlDb, url: str) -> dict[str, object]:
    return runspec(db, [url], source_name=SOURCE, kind="reviews", params={"next_page": "a.more"})


def test_reviews_crawl_follows_pagination_and_counts_the_malformed_review(
    reviews_db: CrawlDb, plain_site: LocalSite
) -> None:
    url = serve_pages(plain_site)

    crawl = run_crawl(reviews_spec(reviews_db, url))

    assert crawl.returncode == 0, crawl.stderr
    assert crawl.summary is not None
    assert {k: crawl.summary[k] for k in ("status", "stop_reason", "pages", "items_seen", "items_new")} == {
        "status": "ok", "stop_reason": "completed", "pages": 3, "items_seen": 5, "items_new": 4,
    }  # fmt: skip
    assert crawl.summary["items_failed"] == 1  # the review without text
    mentions = reviews_db.mentions()
    base = plain_site.base_url.rstrip("/")
    mia = mentions[f"{base}/kettle#r1"]
    assert (mia.author, mia.title, mia.text, mia.rating) == ("Mia", "Leaks", "Leaks from the base.", 0.0)
    assert mia.published_at == datetime(2026, 10, 2, tzinfo=UTC)
    assert mia.url == f"{base}/kettle"
    assert mia.status == MentionStatus.NEW
    assert mia.touchpoint_id == reviews_db.touchpoint_id
    assert json.loads(mia.raw)["reviewBody"] == "Leaks from the base."
    assert mentions[f"{base}/kettle#r2"].rating == 1.0
    hashed = {m.author: m for m in mentions.values() if m.external_id.startswith("sha256:")}
    assert set(hashed) == {"Ann", "Li"}  # no @id: hashed with the first page's URL
    assert (hashed["Ann"].text, hashed["Ann"].rating) == ("Good value.", 0.75)
    assert (hashed["Li"].text, hashed["Li"].rating) == ("It is a kettle.", 0.5)
    assert hashed["Li"].published_at == datetime(2026, 7, 7, tzinfo=UTC)
    [run] = reviews_db.runs()
    assert run.status == CrawlRunStatus.OK
    assert (run.items_seen, run.items_new, run.items_failed, run.pages) == (5, 4, 1, 3)
    assert run.http_status_counts == {"200": 3}


def test_second_reviews_crawl_inserts_nothing(reviews_db: CrawlDb, plain_site: LocalSite) -> None:
    url = serve_pages(plain_site)
    assert run_crawl(reviews_spec(reviews_db, url)).returncode == 0

    again = run_crawl(reviews_spec(reviews_db, url))

    assert again.returncode == 0, again.stderr
    assert again.summary is not None
    assert (again.summary["items_new"], again.summary["items_duplicate"]) == (0, 4)
    assert len(reviews_db.mentions()) == 4
