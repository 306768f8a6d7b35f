"""Queue page time of the review UI with 100,000 cases in SQLite (the embedded default).

    python bench/bench_queue.py [--cases 100000] [--requests 60] [--database /tmp/queue-bench.db]

Fills a fresh database with synthetic mentions, analyses, topics and cases (bulk inserts), logs in
through the real app (ASGI test client: routing, session, CSRF, queries, template rendering, headers),
then times GET /queue with typical filters and prints p50/p95 per filter and overall. A benchmark, not a
test: it asserts nothing; run it on a quiet machine (`nice -n 10` on a shared one).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

import storage
from storage import catalog, sources, users
from storage.enums import CaseStatus, JourneyStage, SentimentLabel, UserRole
from storage.models import Analysis, Case, Mention, MentionTopic, Topic
from vocwatch.web import WebConfig, create_app
from vocwatch.web.passwords import hash_password

TOUCHPOINTS = ("delivery", "checkout", "support", "app", "billing")
TOPICS = ("delivery", "price", "quality", "support", "app_bugs", "refunds", "login", "staff")
LANGS = ("en", "zh", "de", "es", "ja")
SEVERITIES = tuple(storage.Severity)
FILTERS = (
    "/queue",
    "/queue?touchpoint=delivery",
    "/queue?topic=app_bugs",
    "/queue?severity=critical&lang=zh",
    "/queue?source=source_3&page=20",
    "/queue?status=all&since=2026-01-01",
)
_BATCH = 5000


def add_bench_user(session: Session, now: datetime) -> None:
    """The agent that `measure` logs in as."""
    users.create_user(
        session, username="bench", password_hash=hash_password("bench password"), role=UserRole.AGENT, now=now
    )


def fill(database_url: str, count: int) -> None:
    """`count` flagged mentions spread over 5 sources, 5 touchpoints, 8 topics, 5 languages, 90 days."""
    engine = storage.make_engine(database_url)
    storage.upgrade(engine)
    sessions = storage.make_session_factory(engine)
    rng = random.Random(7)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        catalog.sync_touchpoints(session, [(name, JourneyStage.USE, "") for name in TOUCHPOINTS])
        catalog.sync_topics(session, [(name, "", None) for name in TOPICS])
        source_ids = [
            sources.upsert_source(
                session, name=f"source_{i}", kind="rss", config={}, default_touchpoint=TOUCHPOINTS[i]
            ).id
            for i in range(5)
        ]
        topic_ids = [session.query(Topic.id).filter_by(name=name).scalar() for name in TOPICS]
        touchpoint_ids = [catalog.get_touchpoint_id(session, name) for name in TOUCHPOINTS]
        add_bench_user(session, now)
    for start in range(1, count + 1, _BATCH):
        ids = range(start, min(count + 1, start + _BATCH))
        with sessions.begin() as session:
            mentions, analyses, topics, cases = [], [], [], []
            for mention_id in ids:
                when = now - timedelta(minutes=rng.randrange(90 * 24 * 60))
                source = rng.randrange(5)
                severity = rng.choice(SEVERITIES)
                mentions.append(
                    {
                        "id": mention_id,
                        "source_id": source_ids[source],
                        "external_id": f"m{mention_id}",
                        "url": f"https://example.com/{mention_id}",
                        "text": f"Complaint {mention_id}: the parcel was late and support never answered. "
                        * 2,
                        "raw": "",
                        "lang": rng.choice(LANGS),
                        "collected_at": when,
                        "published_at": when,
                        "content_hash": f"{mention_id:064x}",
                        "touchpoint_id": touchpoint_ids[rng.randrange(5)],
                        "status": "analyzed",
                    }
                )
                p_neg = rng.uniform(0.4, 0.99)
                analyses.append(
                    {
                        "mention_id": mention_id,
                        "model_version": "bench",
                        "label": SentimentLabel.NEGATIVE,
                        "p_negative": p_neg,
                        "p_neutral": (1 - p_neg) / 2,
                        "p_positive": (1 - p_neg) / 2,
                        "confidence": p_neg,
                        "created_at": when,
                    }
                )
                for topic in rng.sample(topic_ids, 2):
                    topics.append(
                        {
                            "mention_id": mention_id,
                            "topic_id": topic,
                            "score": 0.7,
                            "label": SentimentLabel.NEGATIVE,
                        }
                    )
                cases.append(
                    {
                        "mention_id": mention_id,
                        "status": rng.choice(
                            (CaseStatus.OPEN, CaseStatus.OPEN, CaseStatus.ACKNOWLEDGED, CaseStatus.RESOLVED)
                        ),
                        "reason": "negative",
                        "severity": severity,
                        "severity_order": storage.queue.SEVERITY_ORDER[severity],
                        "created_at": when,
                        "updated_at": when,
                    }
                )
            for model, rows in (
                (Mention, mentions),
                (Analysis, analyses),
                (MentionTopic, topics),
                (Case, cases),
            ):
                session.execute(insert(model), rows)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def measure(database_url: str, requests: int) -> dict[str, list[float]]:
    engine = storage.make_engine(database_url)
    app = create_app(WebConfig(secret_key="bench-" + "s" * 32), storage.make_session_factory(engine))
    timings: dict[str, list[float]] = {path: [] for path in FILTERS}
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"username": "bench", "password": "bench password", "csrf_token": token})
        for path in FILTERS:  # warm-up: SQLite page cache, template compilation
            assert client.get(path).status_code == 200
        for index in range(requests):
            path = FILTERS[index % len(FILTERS)]
            started = time.perf_counter()
            response = client.get(path)
            timings[path].append(time.perf_counter() - started)
            assert response.status_code == 200
    engine.dispose()
    return timings


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def report(timings: dict[str, list[float]]) -> None:
    """Print p50 and p95 per queue URL and over all of them."""
    everything = [value for values in timings.values() for value in values]
    for name, values in (*timings.items(), ("all queue requests", everything)):
        p50, p95 = 1000 * statistics.median(values), 1000 * _p95(values)
        print(f"{name:45s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--database", type=Path, default=None, help="SQLite file (default: a temp file)")
    parser.add_argument("--reuse", action="store_true", help="measure an existing --database, do not refill")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.database or Path(tmp) / "queue-bench.db"
        url = f"sqlite:///{path}"
        if not (args.reuse and path.exists()):
            path.unlink(missing_ok=True)
            started = time.perf_counter()
            fill(url, args.cases)
            size_mb = path.stat().st_size / 1e6
            print(f"filled {args.cases:,} cases in {time.perf_counter() - started:.1f} s ({size_mb:.0f} MB)")
        timings = measure(url, args.requests)
    report(timings)


if __name__ == "__main__":
    main()
