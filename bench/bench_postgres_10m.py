"""Weekly digest and review-queue pages over 10,000,000 mentions in PostgreSQL (issue 9, benchmark c).

    python bench/bench_postgres_10m.py                         # 10,000,000 mentions, fresh database
    python bench/bench_postgres_10m.py --reuse                 # measure the database built last time
    python bench/bench_postgres_10m.py --mentions 1000000 --database vocwatch_bench_1m

Builds a migrated PostgreSQL database (dropped and recreated unless --reuse) holding a year of a big
brand's history, generated server-side with generate_series in chunks of a million (a Python insert
loop would spend most of an hour on 25 million rows): N mentions arriving evenly over the 52 weeks up to
the digest's week (~190k a week at 10 M), in 5 languages, over 12 sources and the 8 default touchpoints,
each with an analysis whose negative share depends on the touchpoint (10 %..45 %); 1 % re-analyzed by a
second model version, 1 % cross-posted copies, 2 % without a publication time, 5 % backfilled up to 30
days late; topics on a third of them (two on a sixth); a review case for half the negatives, drawn at
random (open, acknowledged or resolved; severity from p_negative); survey answers (NPS/CSAT/CES) for 5 %;
the digest's operational history from bench_digest.add_operations. Then VACUUM ANALYZE, and times
(1) the digest of the last week, phase by phase (bench_digest.time_digest: the real `load_week` queries,
numbers, chart, Block Kit, HTML, CSV) and (2) the review queue's pages through the real web app
(bench_queue.measure: login, session, CSRF, queries, templates), reporting p50/p95 per filter.

A benchmark, not a test: figures depend on the machine and its load (printed). PostgreSQL's default
configuration is used as installed (shared_buffers 128 MB): the numbers are what an untuned server gives.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from bench_digest import SOURCES, WEEK, WEEKS, add_operations, time_digest
from bench_queue import TOPICS, add_bench_user, measure, report
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import make_url

import storage
from storage import catalog, models, sources
from storage.queue import SEVERITY_ORDER
from vocwatch.settings import DEFAULT_TOUCHPOINTS

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHUNK = 1_000_000
LANGS = ("en", "zh", "de", "es", "ja")

MENTIONS_SQL = """
INSERT INTO mentions (id, source_id, external_id, url, text, raw, lang, published_at, collected_at,
                      content_hash, duplicate_of_id, touchpoint_id, status)
SELECT g, (%(sources)s::int[])[1 + g %% %(n_sources)s], 'e' || g, 'https://example.com/' || g,
       'Complaint ' || g || ': the parcel was late and support never answered my emails.', '',
       (%(langs)s::text[])[1 + g %% %(n_langs)s],
       CASE WHEN g %% 50 = 0 THEN NULL
            ELSE arrived - make_interval(secs => random() * CASE WHEN g %% 20 = 0 THEN 2592000 ELSE 21600 END)
       END,
       arrived, md5(g::text), CASE WHEN g %% 100 = 1 AND g > 1 THEN g - 1 END,
       (%(touchpoints)s::int[])[1 + g %% %(n_touchpoints)s], 'analyzed'
FROM (SELECT g,
        %(start)s::timestamptz + make_interval(secs => %(span_s)s * (g - random()) / %(total)s) AS arrived
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g) AS s
"""

# The negative share grows with the touchpoint's position (10 % .. 45 %), so digest rows differ.
ANALYSES_SQL = """
INSERT INTO analyses (mention_id, model_version, label, p_negative, p_neutral, p_positive, confidence,
                      lang, churn_risk, reliable, flags, created_at)
SELECT id, 'm1', label, p_negative, (1 - p_negative) / 2, (1 - p_negative) / 2, p_negative, lang,
       random(), true, '[]'::jsonb, collected_at + interval '1 minute'
FROM (SELECT m.id, m.lang, m.collected_at,
             CASE WHEN r < 0.10 + 0.05 * (m.id %% %(n_touchpoints)s) THEN 'negative'
                  WHEN r > 0.7 THEN 'positive' ELSE 'neutral' END AS label,
             CASE WHEN r < 0.10 + 0.05 * (m.id %% %(n_touchpoints)s) THEN 0.5 + 0.5 * random()
                  ELSE 0.3 * random() END AS p_negative
      FROM (SELECT id, lang, collected_at, random() AS r FROM mentions
            WHERE id BETWEEN %(lo)s AND %(hi)s) AS m) AS a
"""

SECOND_VERSION_SQL = """
INSERT INTO analyses (mention_id, model_version, label, p_negative, p_neutral, p_positive, confidence,
                      lang, churn_risk, reliable, flags, created_at)
SELECT mention_id, 'm2', label, p_negative, p_neutral, p_positive, confidence, lang, churn_risk, reliable,
       flags, created_at + interval '1 day'
FROM analyses WHERE mention_id BETWEEN %(lo)s AND %(hi)s AND mention_id %% 100 = 7
"""

TOPICS_SQL = """
INSERT INTO mention_topics (mention_id, topic_id, score, label)
SELECT mention_id, (%(topics)s::int[])[1 + mention_id %% %(n_topics)s], 0.7, label
FROM analyses WHERE model_version = 'm1' AND mention_id BETWEEN %(lo)s AND %(hi)s AND mention_id %% 3 = 0
UNION ALL
SELECT mention_id, (%(topics)s::int[])[1 + (mention_id / 6 + 1) %% %(n_topics)s], 0.6, label
FROM analyses WHERE model_version = 'm1' AND mention_id BETWEEN %(lo)s AND %(hi)s AND mention_id %% 6 = 0
ON CONFLICT DO NOTHING
"""

CASES_SQL = """
INSERT INTO cases (mention_id, status, reason, severity, severity_order, created_at, updated_at)
SELECT mention_id, (ARRAY['open', 'open', 'acknowledged', 'resolved'])[1 + floor(random() * 4)::int],
       'negative', severity, (%(severity_order)s::jsonb ->> severity)::smallint, created_at, created_at
FROM (SELECT mention_id, created_at,
             CASE WHEN p_negative > 0.9 THEN 'critical' WHEN p_negative > 0.7 THEN 'warning' ELSE 'info' END
             AS severity
      FROM analyses WHERE model_version = 'm1' AND label = 'negative'
                      AND mention_id BETWEEN %(lo)s AND %(hi)s AND random() < 0.5) AS a
"""

SURVEYS_SQL = """
INSERT INTO survey_responses (source_id, respondent_id, metric, score, touchpoint_id, answered_at)
SELECT %(survey_source)s, 'r' || g, (ARRAY['nps', 'csat', 'ces'])[1 + g %% 3],
       CASE g %% 3 WHEN 0 THEN floor(random() * 11) WHEN 1 THEN 1 + floor(random() * 5)
                   ELSE 1 + floor(random() * 7) END,
       (%(touchpoints)s::int[])[1 + g %% %(n_touchpoints)s],
       %(start)s::timestamptz + make_interval(secs => random() * %(span_s)s)
FROM generate_series(1, %(count)s) AS g
"""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def recreate_database(admin_url: str, name: str) -> str:
    """Drop and create `name`; returns its SQLAlchemy URL."""
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def build(url: str, mentions: int) -> None:
    """Migrate, seed the catalog with the ORM, then generate the bulk rows server-side, chunk by chunk."""
    engine = storage.make_engine(url)
    storage.upgrade(engine)
    end = WEEK.bounds()[1]
    start = end - timedelta(weeks=WEEKS)
    rng = random.Random(7)
    with storage.make_session_factory(engine).begin() as session:
        catalog.sync_touchpoints(
            session, [(name, tp.stage, tp.description) for name, tp in DEFAULT_TOUCHPOINTS.items()]
        )
        catalog.sync_topics(session, [(name, f"about {name}", None) for name in TOPICS])
        touchpoint_ids = list(session.scalars(select(models.Touchpoint.id).order_by(models.Touchpoint.id)))
        topic_ids = list(session.scalars(select(models.Topic.id).order_by(models.Topic.id)))
        source_ids = [
            sources.upsert_source(
                session, name=f"source_{n}", kind="rss", config={}, default_touchpoint=None
            ).id
            for n in range(SOURCES)
        ]
        add_operations(session, rng, start, mentions, source_ids, topic_ids)
        add_bench_user(session, datetime.now(UTC))
    engine.dispose()
    params: dict[str, object] = {
        "sources": source_ids,
        "n_sources": len(source_ids),
        "touchpoints": touchpoint_ids,
        "n_touchpoints": len(touchpoint_ids),
        "topics": topic_ids,
        "n_topics": len(topic_ids),
        "langs": list(LANGS),
        "n_langs": len(LANGS),
        "start": start,
        "span_s": (end - start).total_seconds(),
        "total": mentions,
        "severity_order": psycopg.types.json.Jsonb(SEVERITY_ORDER),
        "survey_source": source_ids[0],
        "count": mentions // 20,
    }
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SELECT setseed(0.7)")
        for lo in range(1, mentions + 1, CHUNK):
            hi = min(mentions, lo + CHUNK - 1)
            began = time.perf_counter()
            for statement in (MENTIONS_SQL, ANALYSES_SQL, SECOND_VERSION_SQL, TOPICS_SQL, CASES_SQL):
                conn.execute(statement, {**params, "lo": lo, "hi": hi})
            conn.commit()
            took = time.perf_counter() - began
            print(f"  mentions {lo:,}..{hi:,} with analyses, topics, cases: {took:.0f} s")
        conn.execute(SURVEYS_SQL, params)
        conn.commit()
        # Identity sequences must continue after the explicit ids, as after a real crawl.
        conn.execute("SELECT setval(pg_get_serial_sequence('mentions', 'id'), %s)", (mentions,))
        conn.commit()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def describe(url: str) -> None:
    """Row counts and the database's size, so the report says what was measured."""
    with psycopg.connect(_libpq(url)) as conn:
        for table in ("mentions", "analyses", "mention_topics", "cases", "survey_responses"):
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            print(f"  {table:18s} {count[0] if count else 0:>12,}")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
        print(f"  database size      {size[0] if size else '?':>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=10_000_000)
    parser.add_argument("--database", default="vocwatch_bench_10m")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--reuse", action="store_true", help="measure the existing database, do not rebuild")
    parser.add_argument("--repeat", type=int, default=3, help="digest runs")
    parser.add_argument("--requests", type=int, default=120, help="queue page requests")
    args = parser.parse_args()
    url = make_url(args.admin_url).set(database=args.database).render_as_string(hide_password=False)
    if not args.reuse:
        url = recreate_database(args.admin_url, args.database)
        began = time.perf_counter()
        build(url, args.mentions)
        print(f"built {args.mentions:,} mentions in {time.perf_counter() - began:.0f} s")
    describe(url)
    print(f"load average before measuring: {os.getloadavg()[0]:.1f}")
    engine = storage.make_engine(url)
    with tempfile.TemporaryDirectory() as tmp:
        time_digest(storage.make_session_factory(engine), args.repeat, Path(tmp))
    engine.dispose()
    report(measure(url, args.requests))
    print(f"load average after measuring: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
