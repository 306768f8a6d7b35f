"""Digest time over 1,000,000 synthetic mentions in SQLite (issue 7, item 8).

Builds a migrated SQLite database with N mentions (default 1,000,000) arriving over 52 weeks up to the
digest's week (~19k a week; ids grow with arrival as crawls insert them, published up to 6 h before
arrival, 5 % backfilled posts up to 30 days old), each with an analysis (1 % re-analyzed by a second
model version, 1 % cross-posted copies, 2 % without a publication time), topics on ~30 % of them,
survey answers, crawl runs, incidents and held-back alerts; then times the digest of the last week:
the queries (`load_week`), the numbers (`build_digest`), the chart, Block Kit, HTML and CSV.
Optionally screenshots the HTML in headless Chromium.

    python bench/bench_digest.py                      # 1,000,000 mentions, temp database
    python bench/bench_digest.py --mentions 100000 --db /tmp/d.db --keep --screenshot /tmp/digest.png
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier import digest as render
from notifier.digest import IsoWeek
from storage import models
from storage.enums import AlertKind, AlertStatus, CrawlRunStatus, IncidentStatus
from vocwatch.settings import DEFAULT_TOUCHPOINTS, DigestSettings
from vocwatch.stages.digest import DigestFiles, load_week, options_of, write_files

WEEK = IsoWeek(2026, 47)
WEEKS = 52
SOURCES = 12
TOPICS = ("delivery", "price", "quality", "support", "app bugs", "account", "refunds", "staff")
CHUNK = 20_000


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build(url: str, mentions: int, seed: int = 7) -> None:
    """Fill a migrated database with the synthetic history (bulk Core inserts, one transaction)."""
    rng = random.Random(seed)
    engine = storage.make_engine(url)
    storage.upgrade(engine)
    end = WEEK.bounds()[1]
    start = end - timedelta(weeks=WEEKS)
    span_s = (end - start).total_seconds()
    with storage.make_session_factory(engine).begin() as session:
        storage.catalog.sync_touchpoints(
            session, [(name, tp.stage, tp.description) for name, tp in DEFAULT_TOUCHPOINTS.items()]
        )
        storage.catalog.sync_topics(session, [(t, f"about {t}", None) for t in TOPICS])
        touchpoint_ids = list(session.scalars(select(models.Touchpoint.id).order_by(models.Touchpoint.id)))
        topic_ids = list(session.scalars(select(models.Topic.id).order_by(models.Topic.id)))
        source_ids = [
            storage.sources.upsert_source(
                session, name=f"source-{n}", kind="rss", config={}, default_touchpoint=None
            ).id
            for n in range(SOURCES)
        ]
        # Each touchpoint has its own negative rate so that the numbers differ between rows.
        negative_rate = {tp: 0.1 + 0.05 * i for i, tp in enumerate(touchpoint_ids)}
        conn = session.connection()

        def mention_rows() -> Iterator[dict[str, Any]]:
            for n in range(1, mentions + 1):
                # Ids grow with arrival, as the crawlers insert them; 5 % are backfills of older posts.
                collected = start + timedelta(seconds=span_s * (n - rng.random()) / mentions)
                lag_s = rng.random() * (30 * 86400 if n % 20 == 0 else 6 * 3600)
                published = collected - timedelta(seconds=lag_s)
                yield {
                    "id": n,
                    "source_id": source_ids[n % SOURCES],
                    "external_id": f"e{n}",
                    "url": f"https://example.com/{n}",
                    "text": f"synthetic mention {n} about the product",
                    "raw": "",
                    "published_at": None if n % 50 == 0 else published,
                    "collected_at": collected,
                    "content_hash": hashlib.blake2b(str(n).encode(), digest_size=16).hexdigest(),
                    "duplicate_of_id": n - 1 if n % 100 == 1 and n > 1 else None,
                    "touchpoint_id": touchpoint_ids[n % len(touchpoint_ids)],
                    "status": "analyzed",
                }

        label_of: dict[int, str] = {}

        def analysis_rows() -> Iterator[dict[str, Any]]:
            for n in range(1, mentions + 1):
                tp = touchpoint_ids[n % len(touchpoint_ids)]
                draw = rng.random()
                label = "negative" if draw < negative_rate[tp] else "positive" if draw > 0.7 else "neutral"
                if n % 3 == 0:
                    label_of[n] = label
                versions = ("m1", "m2") if n % 100 == 7 else ("m1",)
                for version in versions:
                    yield {
                        "mention_id": n,
                        "model_version": version,
                        "label": label,
                        "p_negative": rng.random(),
                        "p_neutral": 0.1,
                        "p_positive": 0.1,
                        "confidence": 0.8,
                        "churn_risk": rng.random(),
                        "created_at": end,
                    }

        for chunk in _chunks(mention_rows()):
            conn.execute(insert(models.Mention), chunk)
        for chunk in _chunks(analysis_rows()):
            conn.execute(insert(models.Analysis), chunk)
        topic_rows = (
            {"mention_id": n, "topic_id": topic_ids[n % len(topic_ids)], "score": 0.7, "label": label}
            for n, label in label_of.items()
        )
        for chunk in _chunks(topic_rows):
            conn.execute(insert(models.MentionTopic), chunk)
        survey_rows = (
            {
                "source_id": source_ids[0],
                "respondent_id": f"r{n}",
                "metric": ("nps", "csat", "ces")[n % 3],
                "score": rng.randint(0, 10) if n % 3 == 0 else rng.randint(1, 5 if n % 3 == 1 else 7),
                "touchpoint_id": touchpoint_ids[n % len(touchpoint_ids)],
                "answered_at": start + timedelta(seconds=rng.random() * span_s),
            }
            for n in range(mentions // 20)
        )
        for chunk in _chunks(survey_rows):
            conn.execute(insert(models.SurveyResponse), chunk)
        add_operations(session, rng, start, mentions, source_ids, topic_ids)
    engine.dispose()


def add_operations(
    session: Session,
    rng: random.Random,
    start: datetime,
    mentions: int,
    source_ids: list[int],
    topic_ids: list[int],
) -> None:
    """The digest's operational sections: a crawl run a day per source, 200 incidents, 200 held alerts."""
    span_s = WEEKS * 7 * 86400
    conn = session.connection()
    for week in range(WEEKS * 7):
        for source_id in source_ids:
            at = start + timedelta(days=week, hours=3)
            conn.execute(
                insert(models.CrawlRun).values(
                    source_id=source_id,
                    status=CrawlRunStatus.OK,
                    started_at=at,
                    finished_at=at + timedelta(minutes=2),
                    items_new=mentions // (WEEKS * 7 * SOURCES),
                    http_status_counts={},
                )
            )
    for n in range(200):
        at = start + timedelta(seconds=rng.random() * span_s)
        conn.execute(
            insert(models.Incident).values(
                key=f"topic:{n}",
                status=IncidentStatus.OPEN,
                topic_id=topic_ids[n % len(topic_ids)],
                channel="#cx-alerts",
                mention_count=rng.randint(2, 40),
                opened_at=at,
                last_mention_at=at + timedelta(hours=6),
                state="growing",
            )
        )
        storage.alerts.enqueue_alert(
            session,
            kind=AlertKind.MENTION,
            dedup_key=f"held:{n}",
            channel="#cx-alerts",
            text="held back",
            blocks=[],
            status=AlertStatus.SUPPRESSED,
            now=at,
        )


def time_digest(sessions: sessionmaker[Session], repeat: int, out_dir: Path) -> DigestFiles:
    """Time the digest of WEEK `repeat` times, phase by phase; returns the files of the last run."""
    settings = DigestSettings()
    for attempt in range(1, repeat + 1):
        t0 = time.perf_counter()
        with sessions() as session:
            data = load_week(session, WEEK, settings)
        t1 = time.perf_counter()
        digest = render.build_digest(data, options_of(settings))
        t2 = time.perf_counter()
        chart = render.render_chart(digest)
        t3 = time.perf_counter()
        render.build_digest_blocks(digest)
        files = write_files(digest, chart, out_dir)
        t4 = time.perf_counter()
        print(
            f"run {attempt}: digest {WEEK} in {t4 - t0:.2f} s — queries {t1 - t0:.2f} s, numbers "
            f"{t2 - t1:.3f} s, chart {t3 - t2:.2f} s, blocks+HTML+CSV {t4 - t3:.2f} s "
            f"({digest.total.mentions:,} mentions that week)"
        )
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="database file (default: a temp file)")
    parser.add_argument("--keep", action="store_true", help="reuse --db if it exists and keep it")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="also open the HTML in Chromium and save a PNG")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    path = args.db or Path(tmp.name) / "bench.db"
    url = f"sqlite:///{path}"
    if not (args.keep and path.exists()):
        path.unlink(missing_ok=True)
        began = time.perf_counter()
        build(url, args.mentions)
        print(f"built {args.mentions:,} mentions in {time.perf_counter() - began:.1f} s ({path})")
    engine = storage.make_engine(url)
    sessions = storage.make_session_factory(engine)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(models.Mention))
    print(f"database: {total:,} mentions, {path.stat().st_size / 1e6:.0f} MB")
    files = time_digest(sessions, args.repeat, Path(tmp.name) / "out")
    if args.screenshot:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(files.html.as_uri())
            page.screenshot(path=str(args.screenshot), full_page=True)
            browser.close()
        print(f"screenshot: {args.screenshot}")
    engine.dispose()
    if not args.keep:
        tmp.cleanup()


if __name__ == "__main__":
    main()
