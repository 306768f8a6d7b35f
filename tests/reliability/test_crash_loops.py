"""Crash safety under SIGKILL loops (issue 10, point 1): kill, restart, repeat; then let it finish.

- **Crawler**: the crawl process (`python -m crawlers`) reads a 30-page feed from a slow server and is
  killed after a random number of pages, again and again; then one crawl runs to the end. Every
  entry of the feed must be stored exactly once: a kill after an early batch was committed must not
  make the next crawl believe it is caught up at page 1 and skip the older pages for good.
- **Orphaned crawl**: the process that launched a crawl (the daemon) is SIGKILLed mid-crawl: the crawl
  stops by itself within seconds, its run recorded as failed, and the next crawl stores the rest.
- **Dispatcher**: the real dispatcher process against a slow fake Slack is killed while replies are in
  flight (the existing integration test's driver, at a larger scale): every alert posted exactly once.
- **Analysis worker**: `vocwatch worker analyze` on PostgreSQL is killed at start-up, holding a claimed
  batch, and just after storing one, in turn: every mention analyzed exactly once, with its own result.

Default sizes run in CI; `VOCWATCH_LONG_TESTS=1` kills each process 50 times (see conftest.py).
"""

from __future__ import annotations

import enum
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

import storage
from storage import models
from tests.support.crawling import CrawlDb, make_crawl_db, run_crawl, runspec
from tests.support.dispatch_crash import DRIVER, STUCK_AFTER_S, SlowSlack, outstanding
from tests.support.faults import Fault, FaultKind, FaultServer
from tests.support.feeds import entry_id, paged_feed
from tests.support.paths import REPO_ROOT
from tests.support.processes import Process
from tests.support.scaleout import model_toml, seed_mentions, write_config
from tests.support.waiting import wait_until
from vocwatch.settings import load_settings
from vocwatch.stages import analyze
from vocwatch.wiring import build_app

PAGES, PER_PAGE = 30, 10  # 300 entries; the store pipeline commits every 50 items


@pytest.fixture
def db(migrated_sqlite_url: str) -> Iterator[CrawlDb]:
    crawl_db = make_crawl_db(migrated_sqlite_url)
    yield crawl_db
    crawl_db.engine.dispose()


def stored_count(db: CrawlDb) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(models.Mention)) or 0)


def test_killing_the_crawler_again_and_again_loses_no_entry_and_stores_each_once(
    db: CrawlDb, tmp_path: Path, long_run: bool
) -> None:
    kills_wanted = 50 if long_run else 3
    rng = random.Random(10)
    with FaultServer() as site:
        for path, body in paged_feed("forum", pages=PAGES, per_page=PER_PAGE).items():
            site.serve(path, body, "application/atom+xml")
        site.inject("/forum/", Fault(FaultKind.SLOW, stall_s=0.05))  # every page: a window to kill in
        spec = runspec(db, [site.url("/forum/page-1.atom")], max_pages=PAGES + 1, retry_times=0)
        spec_file = tmp_path / "runspec.json"
        spec_file.write_text(json.dumps(spec))
        kills = 0
        deadline = time.monotonic() + (1800 if long_run else 120)
        while kills < kills_wanted:
            assert time.monotonic() < deadline, f"only {kills} kills landed"
            pages_before = len(site.hits_for("/forum/"))
            # Kill after a random number of pages (never the last: no run may finish before the end),
            # i.e. before, between or after the batches the store pipeline commits.
            pages = rng.randint(1, PAGES - 1)
            with spec_file.open("rb") as stdin:
                process = subprocess.Popen(
                    [sys.executable, "-m", "crawlers"],
                    stdin=stdin,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    cwd=REPO_ROOT,
                )
            try:
                wait_until(
                    lambda p=process, b=pages_before, n=pages: (
                        len(site.hits_for("/forum/")) - b >= n or p.poll() is not None
                    ),
                    timeout_s=60,
                    what=f"{pages} page requests",
                )
                if process.poll() is None:
                    process.kill()
                    kills += 1
            finally:
                process.wait(timeout=30)
            stored_during_kills = stored_count(db)
        site.clear()
        final = run_crawl(spec)

    assert final.returncode == 0, final.stderr[-2000:]
    stored = db.mentions()
    assert set(stored) == {entry_id("forum", n) for n in range(1, PAGES * PER_PAGE + 1)}
    with db.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(models.Mention))
    assert rows == PAGES * PER_PAGE  # each once
    assert 0 < stored_during_kills < PAGES * PER_PAGE  # kills landed after commits, before the end


# The daemon's way of running a crawl (vocwatch.daemon.crawl.run_crawl), in a process of its own to be killed.
LAUNCHER = """
import sys
from crawlers.runspec import RunSpec
from vocwatch.daemon.crawl import run_crawl
with open(sys.argv[1], encoding="utf-8") as spec:
    run_crawl(RunSpec.from_json(spec.read()), timeout_s=600)
"""


def test_a_crawl_whose_launcher_is_killed_stops_within_seconds_and_the_next_crawl_stores_the_rest(
    db: CrawlDb, tmp_path: Path
) -> None:
    """A SIGKILLed daemon cannot stop its crawl processes; each notices it has lost its parent, stops as
    after SIGTERM (the page in flight is finished), and records its run as failed, instead of crawling
    on unsupervised beside the restarted daemon's crawl."""
    with FaultServer() as site:
        for path, body in paged_feed("forum", pages=PAGES, per_page=PER_PAGE).items():
            site.serve(path, body, "application/atom+xml")
        site.inject("/forum/", Fault(FaultKind.SLOW, stall_s=0.2))  # 30 pages: 6 s of crawl at least
        spec = runspec(db, [site.url("/forum/page-1.atom")], max_pages=PAGES + 1, retry_times=0)
        spec_file = tmp_path / "runspec.json"
        spec_file.write_text(json.dumps(spec))
        launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(spec_file)], cwd=REPO_ROOT)
        try:
            wait_until(lambda: stored_count(db) >= 50, timeout_s=60, what="a first stored batch")
            (crawl,) = psutil.Process(launcher.pid).children()
        finally:
            launcher.kill()
            launcher.wait(timeout=30)
        killed = time.monotonic()
        crawl.wait(timeout=30)
        stopped_s = time.monotonic() - killed
        (orphaned,) = db.runs()
        site.clear()
        final = run_crawl(spec)

    assert (orphaned.status, orphaned.stop_reason) == (storage.CrawlRunStatus.FAILED, "shutdown")
    assert orphaned.error == "stopped: the process that started it is gone"
    assert 50 <= orphaned.items_new < PAGES * PER_PAGE
    assert final.returncode == 0, final.stderr[-2000:]
    assert set(db.mentions()) == {entry_id("forum", n) for n in range(1, PAGES * PER_PAGE + 1)}
    assert stored_count(db) == PAGES * PER_PAGE  # each once
    print(f"orphaned crawl stopped {stopped_s:.1f} s after its launcher was killed")


def test_killing_the_dispatcher_again_and_again_posts_each_alert_once(
    migrated_sqlite_url: str, long_run: bool
) -> None:
    alerts, kills_wanted = (300, 50) if long_run else (20, 3)
    engine = storage.make_engine(migrated_sqlite_url)
    now = datetime.now(UTC)
    with storage.make_session_factory(engine).begin() as session:
        for i in range(alerts):
            storage.alerts.enqueue_alert(
                session,
                kind=storage.AlertKind.MENTION,
                dedup_key=f"mention:{i}",
                channel="#cx",
                text=f"alert {i}",
                blocks=[],
                now=now,
            )
    engine.dispose()
    rng = random.Random(11)
    kills = 0
    with SlowSlack(channels=("cx",)) as slack:
        deadline = time.monotonic() + (1800 if long_run else 120)
        while outstanding(migrated_sqlite_url):
            assert time.monotonic() < deadline, "the dispatcher never finished"
            posts = len(slack.calls("chat.postMessage"))
            process = subprocess.Popen(
                [sys.executable, "-c", DRIVER, migrated_sqlite_url, slack.base_url, str(STUCK_AFTER_S)],
                stderr=subprocess.DEVNULL,
            )
            wanted = posts + rng.randint(1, 6)
            wait_until(
                lambda p=process, n=wanted: len(slack.calls("chat.postMessage")) >= n or p.poll() is not None,
                timeout_s=60,
                what="posts",
            )
            if process.poll() is None and kills < kills_wanted:
                process.kill()
                kills += 1
            process.wait(timeout=60)
            time.sleep(STUCK_AFTER_S + 0.2)  # past the reconcile grace, as after a real restart
        keys = Counter(
            str((m.metadata or {}).get("event_payload", {}).get("dedup_key")) for m in slack.messages("cx")
        )

    assert kills == kills_wanted
    assert keys == Counter({f"mention:{i}": 1 for i in range(alerts)})


# -- the analysis worker ----------------------------------------------------------------------------------

ANALYSIS_BATCH, LEASE_S = 10, 5  # the tiny model analyzes a batch in well under a second; leases' minimum


class KillPoint(enum.StrEnum):
    """Where in an analysis worker's life a kill lands."""

    STARTUP = "startup"  # before its first claim: imports, model load, database connection
    CLAIMED = "claimed"  # holding a committed claim while the model runs (the batch must not be lost)
    STORED = "stored"  # just after a batch was stored, i.e. between batches or in the next claim


def worker_claims(database_url: str, pid: int) -> int:
    """Mentions a worker process holds right now (worker names are host:pid:random)."""
    engine = storage.make_engine(database_url)
    try:
        with storage.make_session_factory(engine)() as session:
            query = select(func.count()).where(
                models.Mention.status == storage.MentionStatus.NEW,
                models.Mention.claimed_by.like(f"%:{pid}:%"),
            )
            return int(session.scalar(query) or 0)
    finally:
        engine.dispose()


def kill_worker_at(worker: Process, point: KillPoint, *, database_url: str, rng: random.Random) -> None:
    """Wait until `worker` (just started) is at `point`, then SIGKILL it."""
    pid = worker.process.pid
    analyzed_before = len(stored_analyses(database_url))
    if point is KillPoint.STARTUP:
        time.sleep(rng.uniform(0.1, 1.5))  # the imports alone take longer than this
        assert worker_claims(database_url, pid) == 0, "no claim may exist yet"
    elif point is KillPoint.CLAIMED:
        wait_until(
            lambda: worker_claims(database_url, pid) > 0 or worker.process.poll() is not None,
            timeout_s=120,
            what="the worker to claim a batch",
        )
    else:
        wait_until(
            lambda: len(stored_analyses(database_url)) > analyzed_before or worker.process.poll() is not None,
            timeout_s=120,
            what="the worker to store a batch",
        )
        time.sleep(rng.uniform(0, 0.3))
    assert worker.process.poll() is None, worker.text()
    worker.kill()


def stored_analyses(database_url: str) -> dict[str, list[float]]:
    """external id -> p_negative of each analysis stored for it (a list: a second analysis would show)."""
    engine = storage.make_engine(database_url)
    try:
        with storage.make_session_factory(engine)() as session:
            rows = session.execute(
                select(models.Mention.external_id, models.Analysis.p_negative).join(models.Analysis.mention)
            )
            stored: dict[str, list[float]] = {}
            for external_id, p_negative in rows:
                stored.setdefault(external_id, []).append(p_negative)
            return stored
    finally:
        engine.dispose()


def test_killing_an_analysis_worker_again_and_again_analyzes_each_mention_once_with_its_own_result(
    tmp_path: Path,
    migrated_postgres_url: str,
    tiny_model_dir: Path,
    tiny_heads_dir: Path,
    processes: list[Process],
    long_run: bool,
) -> None:
    """`vocwatch worker analyze` (the scale-out analyzer, on PostgreSQL) is SIGKILLed at start-up, while it
    holds a claimed batch, and right after it stored one, in turn; then one worker runs until the queue is
    empty. Every mention must carry exactly one analysis, and it must be the result for its own text
    (the one the model gives it in this process): a batch re-claimed after a kill, or stored in part,
    must not shift results onto other mentions."""
    mentions, kills_wanted = (1000, 50) if long_run else (100, 3)
    seed_mentions(migrated_postgres_url, mentions)
    config = write_config(
        tmp_path / "vocwatch.toml",
        database_url=migrated_postgres_url,
        body=model_toml(tiny_model_dir, tiny_heads_dir, batch_size=ANALYSIS_BATCH)
        + f"\n[worker]\nlease_s = {LEASE_S}\nidle_sleep_s = 0.2\n",
    )
    rng = random.Random(12)
    landed: Counter[KillPoint] = Counter()
    deadline = time.monotonic() + (1800 if long_run else 180)
    while sum(landed.values()) < kills_wanted:
        assert time.monotonic() < deadline, f"only {dict(landed)} kills landed"
        point = list(KillPoint)[sum(landed.values()) % len(KillPoint)]  # each point in turn
        worker = Process(config, "worker", "analyze", log=tmp_path / f"worker-{sum(landed.values())}.log")
        processes.append(worker)
        kill_worker_at(worker, point, database_url=migrated_postgres_url, rng=rng)
        landed[point] += 1
    analyzed_during_kills = len(stored_analyses(migrated_postgres_url))

    final = Process(config, "worker", "analyze", "--exit-when-idle", log=tmp_path / "final.log")
    processes.append(final)
    assert final.wait(timeout_s=900) == 0, final.text()

    stored = stored_analyses(migrated_postgres_url)
    assert 0 < analyzed_during_kills < mentions  # kills landed between stored batches, before the end
    assert len(stored) == mentions and all(len(p) == 1 for p in stored.values())  # each exactly once
    assert worker_claims(migrated_postgres_url, final.process.pid) == 0
    expected = reference_p_negative(config, migrated_postgres_url)
    assert {external_id: p[0] for external_id, p in stored.items()} == pytest.approx(expected, abs=1e-4)
    kills = ", ".join(f"{n} at {point}" for point, n in landed.items())
    print(f"analysis worker killed {kills}; {analyzed_during_kills} of {mentions} analyzed meanwhile")


def reference_p_negative(config: Path, database_url: str) -> dict[str, float]:
    """Each mention's p_negative as the same model gives it here, in one uninterrupted pass."""
    app = build_app(load_settings(config))
    try:
        with app.sessions() as session:
            rows = list(session.scalars(select(models.Mention).order_by(models.Mention.id)))
            texts = {row.external_id: analyze.analysis_text(row) for row in rows}
        results = app.analyzer.analyze(list(texts.values()))
    finally:
        app.engine.dispose()
    return {external_id: result.p_negative for external_id, result in zip(texts, results, strict=True)}
