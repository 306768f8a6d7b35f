"""Service faults (issue 10, point 1): the database or Redis goes away under a running pipeline.

Each fault lands at a known point of a real run: the crawl process (`python -m crawlers`) reads a paged
feed from a `GatedSite` that holds page 2 back until the fault is in place, and `vocwatch` runs as the
operator runs it (CLI subprocesses, a tiny real model so that analysis takes seconds). Afterwards every
mention must be stored once and analyzed once, the failure must have been reported as one line (and in
`crawl_runs` where a crawl failed), and the next run must finish the job.

1. SQLite: another connection holds the write lock (BEGIN IMMEDIATE). Past the busy timeout (the URL's
   `?timeout=1`), a crawl's batch and an analysis fail cleanly and the next run completes; shorter than
   the busy timeout, the writer just waits.
2. PostgreSQL stopped and started again (a private cluster, never the shared server) under two analysis
   workers and a crawl: the workers log the outage, back off, give back the claims of the batch they
   could not store (no waiting out a 300 s lease), and finish; the crawl marks its run failed and the
   next crawl stores what it missed.
3. Redis (scrapy-redis frontier, a private server without persistence): down at start, `crawl --worker`
   exits with one line naming crawl.redis_url and the fix; killed mid-crawl and restarted EMPTY, the
   round that lost its frontier is recorded as failed, and a new round stores every item once.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import func, select

import storage
from storage import models
from tests.support.crawling import SOURCE, Crawl, make_crawl_db, run_crawl, runspec
from tests.support.feeds import entry_id, paged_feed
from tests.support.paths import REPO_ROOT
from tests.support.processes import Process
from tests.support.scaleout import model_toml, seed_mentions, write_config
from tests.support.service_postgres import PrivatePostgres, free_port, private_postgres
from tests.support.service_redis import PrivateRedis, private_redis
from tests.support.service_site import GatedSite
from tests.support.service_sqlite import database_path, scalar, with_busy_timeout, write_lock
from tests.support.waiting import wait_until
from vocwatch import stages
from vocwatch.cli import main
from vocwatch.daemon.crawl import CrawlOutcome, run_crawl_worker
from vocwatch.daemon.worker import WorkerTotals, run_analysis_worker
from vocwatch.errors import VocwatchError
from vocwatch.settings import load_settings
from vocwatch.wiring import build_app

FEED, PAGES, PER_PAGE = "forum", 3, 50  # 50 = VOCWATCH_STORE_BATCH_SIZE: one committed batch per page
SEEDED = 40  # mentions waiting for analysis in the analysis tests
BATCH = 10  # analysis batch: the tiny model takes ~0.5 s for it here, the window in which claims are held
REDIS_PASSWORD = "s3cret-frontier-pw"


def page(number: int) -> str:
    return f"/{FEED}/page-{number}.atom"


def all_entry_ids() -> set[str]:
    return {entry_id(FEED, n) for n in range(1, PAGES * PER_PAGE + 1)}


# -- parts ------------------------------------------------------------------------------------------------


class CrawlProcess:
    """`python -m crawlers` in the background; its stderr (Scrapy's log, then one summary line) in a file,
    so a test can watch for the moment a batch fails."""

    def __init__(self, spec: dict[str, Any], *, log: Path) -> None:
        self.log = log
        self._stderr: IO[bytes] = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawlers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO_ROOT,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(spec).encode())
        self.process.stdin.close()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait(self, *, timeout_s: float) -> Crawl:
        assert self.process.stdout is not None
        with self.process.stdout:
            stdout = self.process.stdout.read().decode()  # one JSON line; ends when the process does
        returncode = self.process.wait(timeout=timeout_s)
        self._stderr.close()
        lines = stdout.strip().splitlines()
        return Crawl(returncode, json.loads(lines[-1]) if lines else None, self.output())

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


@pytest.fixture
def crawls() -> Iterator[list[CrawlProcess]]:
    started: list[CrawlProcess] = []
    yield started
    for crawl in started:
        crawl.kill()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL cluster for this module (the test restarts it), removed afterwards."""
    with private_postgres() as server:
        yield server


@pytest.fixture
def private_redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path) as server:
        yield server


def vocwatch_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path, *args: str
) -> tuple[int, str, str]:
    """`vocwatch --config CONFIG ARGS` through the console script's `main()`, in this process: the same
    error handling as the installed command, without paying a subprocess's torch import (~10 s here)."""
    monkeypatch.setattr(sys, "argv", ["vocwatch", "--config", str(config), *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def analysis_config(tmp_path: Path, *, database_url: str, model_dir: Path, heads_dir: Path) -> Path:
    config = write_config(
        tmp_path / "vocwatch.toml",
        database_url=database_url,
        body=model_toml(model_dir, heads_dir, batch_size=BATCH)
        + "\n[worker]\nlease_s = 300\nidle_sleep_s = 0.2\n",
    )
    config.chmod(0o600)
    return config


def feed_spec(db_url: str, site: GatedSite, **overrides: Any) -> dict[str, Any]:
    db = make_crawl_db(db_url)
    try:
        return runspec(db, [site.url(page(1))], max_pages=PAGES + 2, retry_times=0, **overrides)
    finally:
        db.engine.dispose()


@dataclass(frozen=True)
class Tally:
    """What is in the database: counted by the receiving side, not taken from logs."""

    feed_ids: list[str]  # external ids of the crawled source's mentions (a list: repeats would show)
    mentions: int
    analyzed: int
    analyses: int
    analyzed_twice: int
    held: int  # mentions still under a worker's lease
    runs: list[models.CrawlRun]


def tally(url: str, *, source: str = SOURCE) -> Tally:
    engine = storage.make_engine(url)
    try:
        with storage.make_session_factory(engine)() as session:
            feed_ids = list(
                session.scalars(
                    select(models.Mention.external_id).join(models.Source).where(models.Source.name == source)
                )
            )
            twice = (
                select(models.Analysis.mention_id)
                .group_by(models.Analysis.mention_id)
                .having(func.count() > 1)
            )
            return Tally(
                feed_ids=feed_ids,
                mentions=session.scalar(select(func.count()).select_from(models.Mention)) or 0,
                analyzed=session.scalar(
                    select(func.count()).where(models.Mention.status == storage.MentionStatus.ANALYZED)
                )
                or 0,
                analyses=session.scalar(select(func.count()).select_from(models.Analysis)) or 0,
                analyzed_twice=session.scalar(select(func.count()).select_from(twice.subquery())) or 0,
                held=session.scalar(
                    select(func.count()).where(
                        models.Mention.status == storage.MentionStatus.NEW,
                        models.Mention.lease_expires_at.is_not(None),
                    )
                )
                or 0,
                runs=list(session.scalars(select(models.CrawlRun).order_by(models.CrawlRun.id))),
            )
    finally:
        engine.dispose()


def crawl_waiting_at_page_two(
    spec: dict[str, Any], site: GatedSite, path: Path, *, log: Path, crawls: list[CrawlProcess]
) -> CrawlProcess:
    """Start a crawl of `site` (page 2 held) and return once page 1's batch is committed in the SQLite
    file at `path` and page 2 has been asked for: the next write the crawl makes is page 2's batch."""
    crawl = CrawlProcess(spec, log=log)
    crawls.append(crawl)
    site.wait_requested(page(2), timeout_s=60)
    wait_until(
        lambda: scalar(path, "SELECT count(*) FROM mentions") == PER_PAGE,
        timeout_s=30,
        what="page 1's batch to be committed",
    )
    return crawl


def assert_one_ok_run_with_every_entry(url: str) -> None:
    result = tally(url)
    (run,) = result.runs
    assert (run.status, run.items_new, run.items_failed, run.error) == (
        storage.CrawlRunStatus.OK,
        PAGES * PER_PAGE,
        0,
        None,
    )
    assert sorted(result.feed_ids) == sorted(all_entry_ids())


def assert_no_traceback(text: str, *, where: str) -> None:
    assert "Traceback" not in text, f"{where} printed a traceback:\n{text[-3000:]}"


# -- 1. SQLite: a write lock held by another connection ----------------------------------------------------


def test_a_sqlite_lock_held_past_the_busy_timeout_fails_one_crawl_batch_clearly_and_the_next_run_stores_it(
    migrated_sqlite_url: str, tmp_path: Path, crawls: list[CrawlProcess]
) -> None:
    url = with_busy_timeout(migrated_sqlite_url, 1)
    path = database_path(url)
    with GatedSite(paged_feed(FEED, pages=PAGES, per_page=PER_PAGE)) as site:
        site.hold(page(2))
        site.hold(page(3))
        spec = feed_spec(url, site)
        crawl = crawl_waiting_at_page_two(spec, site, path, log=tmp_path / "crawl-1.log", crawls=crawls)
        with write_lock(path):  # past the 1 s busy timeout and all retries: page 2's batch fails, not hangs
            site.release(page(2))
            wait_until(
                lambda: "could not store" in crawl.output(), timeout_s=30, what="page 2's batch to fail"
            )
        site.release(page(3))
        first = crawl.wait(timeout_s=60)
        stored_after_fault = len(tally(url).feed_ids)
        second = run_crawl(spec)

    result = tally(url)
    failed_run, next_run = result.runs
    assert first.returncode == 1, first.stderr[-3000:]
    line = first.last_error_line
    assert line.startswith("vocwatch-crawl: crawl of ") and "50 item(s) could not be stored" in line, line
    assert "database is locked" in line, line
    assert failed_run.status == storage.CrawlRunStatus.FAILED
    assert failed_run.error is not None and "database is locked" in failed_run.error
    assert (failed_run.items_new, failed_run.items_failed) == (2 * PER_PAGE, PER_PAGE)
    assert stored_after_fault == 2 * PER_PAGE  # pages 1 and 3: the crawl went on after the failed batch

    assert second.returncode == 0, second.stderr[-3000:]
    assert next_run.status == storage.CrawlRunStatus.OK
    assert (next_run.items_new, next_run.items_duplicate) == (PER_PAGE, 2 * PER_PAGE)
    assert sorted(result.feed_ids) == sorted(all_entry_ids())  # nothing lost, each once


def test_a_sqlite_lock_held_past_one_busy_timeout_is_outlasted_by_the_crawls_retries(
    migrated_sqlite_url: str, tmp_path: Path, crawls: list[CrawlProcess]
) -> None:
    """SQLite's busy handler is not fair: under steady writers one wait can time out on a healthy database.
    The batch is tried again with backoff and stored; the run ends `ok` with nothing failed."""
    url = with_busy_timeout(migrated_sqlite_url, 1)
    path = database_path(url)
    with GatedSite(paged_feed(FEED, pages=PAGES, per_page=PER_PAGE)) as site:
        site.hold(page(2))
        spec = feed_spec(url, site)
        crawl = crawl_waiting_at_page_two(spec, site, path, log=tmp_path / "crawl.log", crawls=crawls)
        with write_lock(path):
            site.release(page(2))
            wait_until(
                lambda: "database unavailable storing a batch" in crawl.output(),
                timeout_s=30,
                what="page 2's batch to time out once and be retried",
            )
        done = crawl.wait(timeout_s=60)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "(attempt 1), retrying in " in done.stderr and "database is locked" in done.stderr, done.stderr
    assert "could not store" not in done.stderr
    assert_one_ok_run_with_every_entry(url)


def test_a_sqlite_lock_shorter_than_the_busy_timeout_is_waited_out_by_the_crawl(
    migrated_sqlite_url: str, tmp_path: Path, crawls: list[CrawlProcess]
) -> None:
    url = with_busy_timeout(migrated_sqlite_url, 10)
    path = database_path(url)
    with GatedSite(paged_feed(FEED, pages=PAGES, per_page=PER_PAGE)) as site:
        site.hold(page(2))
        site.hold(page(3))
        spec = feed_spec(url, site)
        crawl = crawl_waiting_at_page_two(spec, site, path, log=tmp_path / "crawl.log", crawls=crawls)
        with write_lock(path):
            site.release(page(2))
            site.wait_requested(page(3), timeout_s=30)  # page 2 is parsed: its batch is at the lock
            time.sleep(1.5)  # bounded: the other transaction lasts a while, well within the 10 s timeout
            assert scalar(path, "SELECT count(*) FROM mentions") == PER_PAGE
        wait_until(
            lambda: scalar(path, "SELECT count(*) FROM mentions") == 2 * PER_PAGE,
            timeout_s=30,
            what="page 2's batch to be committed once the lock is gone",
        )
        site.release(page(3))
        done = crawl.wait(timeout_s=60)

    assert done.returncode == 0, done.stderr[-3000:]
    assert_one_ok_run_with_every_entry(url)


def test_analysis_on_a_locked_sqlite_database_fails_with_one_line_and_a_worker_retries_until_done(
    migrated_sqlite_url: str,
    tmp_path: Path,
    tiny_model_dir: Path,
    tiny_heads_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = with_busy_timeout(migrated_sqlite_url, 1)
    path = database_path(url)
    seed_mentions(url, SEEDED)
    config = analysis_config(tmp_path, database_url=url, model_dir=tiny_model_dir, heads_dir=tiny_heads_dir)

    # The one-shot analysis job meets the lock: one line and the fix, nothing half done.
    with write_lock(path):
        status, _, stderr = vocwatch_main(monkeypatch, capsys, config, "analyze")
    assert status == 1
    assert_no_traceback(stderr, where="vocwatch analyze")
    error, fix = stderr.strip().splitlines()
    assert error == "error: database unavailable: OperationalError: database is locked", error
    assert fix.startswith("fix: another process holds the SQLite write lock"), fix
    assert tally(url).analyzed == 0

    # A worker (`vocwatch worker analyze --exit-when-idle`, its loop in a thread here) whose batch is
    # claimed, the model running, when the lock is taken cannot store it. It must log the failure, give
    # the claims back (its 300 s lease would block them otherwise) and finish.
    settings = load_settings(config)
    app = build_app(settings)
    stages.sync_catalog(app.sessions, settings)  # what the CLI does before it starts a worker
    app.analyzer  # noqa: B018  # loaded before the first claim, as the CLI does
    caplog.set_level(logging.WARNING, logger="vocwatch.daemon.worker")
    stop = threading.Event()
    totals: list[WorkerTotals] = []
    worker = threading.Thread(
        target=lambda: totals.append(run_analysis_worker(app, stop=stop, exit_when_idle=True)),
        name="analysis-worker",
    )
    worker.start()
    try:
        wait_until(
            lambda: (
                scalar(path, "SELECT count(*) FROM mentions WHERE lease_expires_at IS NOT NULL") > 0
                or not worker.is_alive()
            ),
            timeout_s=60,
            what="the worker to claim its batch",
            step_s=0.005,
        )
        with write_lock(path):
            stranded = scalar(path, "SELECT count(*) FROM mentions WHERE lease_expires_at IS NOT NULL")
            wait_until(
                lambda: "database unavailable" in caplog.text or not worker.is_alive(),
                timeout_s=30,
                what="the worker to meet the lock",
            )
        worker.join(timeout=120)
    finally:
        stop.set()
        worker.join(timeout=60)
        app.engine.dispose()

    log = caplog.text
    assert totals == [WorkerTotals(batches=totals[0].batches, done=SEEDED)], log
    assert_no_traceback(log, where="the analysis worker")
    assert "database unavailable (attempt 1), retrying in 0.5 s: OperationalError: database is locked" in log
    assert "database available again after" in log
    if stranded:  # the lock landed between claim and store (as a rule: the model runs meanwhile)
        assert f"gave back {stranded} mention(s)" in log, log
    result = tally(url)
    assert (result.mentions, result.analyzed, result.analyses, result.analyzed_twice, result.held) == (
        SEEDED,
        SEEDED,
        SEEDED,
        0,
        0,
    )
    print(f"SQLite lock on an analysis worker: {stranded} claimed mention(s) stranded, then given back")


# -- 2. PostgreSQL restarted under analysis workers and a crawl --------------------------------------------


@pytest.mark.postgres  # its own server (`postgres` fixture): no fixture rule in tests/conftest.py sees it
def test_a_postgres_restart_mid_run_is_survived_by_analysis_workers_and_the_next_crawl(
    postgres: PrivatePostgres,
    tmp_path: Path,
    tiny_model_dir: Path,
    tiny_heads_dir: Path,
    crawls: list[CrawlProcess],
    processes: list[Process],
) -> None:
    url = postgres.create_database()
    seed_mentions(url, SEEDED, source="seeded")
    config = analysis_config(tmp_path, database_url=url, model_dir=tiny_model_dir, heads_dir=tiny_heads_dir)
    workers = [Process(config, "worker", "analyze", log=tmp_path / f"worker-{i}.log") for i in (1, 2)]
    processes.extend(workers)
    total = SEEDED + PAGES * PER_PAGE
    with GatedSite(paged_feed(FEED, pages=PAGES, per_page=PER_PAGE)) as site:
        site.hold(page(2))
        site.hold(page(3))
        # Started with the workers (both pay for their imports at once); page 2 may be held a while.
        spec = feed_spec(url, site, download_timeout_s=300)
        crawl = CrawlProcess(spec, log=tmp_path / "crawl-1.log")
        crawls.append(crawl)
        wait_until(lambda: tally(url).analyzed > 0, timeout_s=180, what="the workers to start analyzing")
        site.wait_requested(page(2), timeout_s=60)
        wait_until(lambda: len(tally(url).feed_ids) == PER_PAGE, timeout_s=30, what="page 1's batch")
        # Stop the server while a worker holds a claimed batch (its model running) when we can see one.
        holding = True
        try:
            wait_until(lambda: tally(url).held > 0, timeout_s=10, what="a claimed batch", step_s=0.005)
        except AssertionError:
            holding = False  # the workers were between batches: the outage then hits their claims

        started = time.monotonic()
        postgres.stop(mode="fast")  # every session is terminated; new connections are refused
        site.release(page(2))
        wait_until(lambda: "could not store" in crawl.output(), timeout_s=30, what="page 2's batch to fail")
        for worker in workers:
            wait_until(
                lambda w=worker: "database unavailable" in w.text(),
                timeout_s=30,
                what="each worker to meet the outage",
            )
        postgres.start()
        downtime_s = time.monotonic() - started
        site.release(page(3))
        first = crawl.wait(timeout_s=60)
        second = run_crawl(spec)

    wait_until(lambda: tally(url).analyzed == total, timeout_s=120, what="every analysis")
    recovered_s = time.monotonic() - started
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    statuses = [worker.wait(timeout_s=60) for worker in workers]
    logs = [worker.text() for worker in workers]

    assert statuses == [0, 0], logs
    for log in logs:
        assert_no_traceback(log, where="vocwatch worker analyze")
        assert (
            "WARNING vocwatch.daemon.worker: database unavailable (attempt 1), retrying in 0.5 s: " in log
        ), log
        assert "database available again after" in log, log
    result = tally(url)
    assert (result.mentions, result.analyzed, result.analyses, result.analyzed_twice, result.held) == (
        total,
        total,
        total,
        0,
        0,
    )
    failed_run, next_run = result.runs
    assert first.returncode == 1, first.stderr[-3000:]
    assert "50 item(s) could not be stored: OperationalError: " in first.last_error_line, (
        first.last_error_line
    )
    assert failed_run.status == storage.CrawlRunStatus.FAILED and failed_run.items_new == 2 * PER_PAGE
    assert second.returncode == 0 and next_run.items_new == PER_PAGE, second.stderr[-3000:]
    assert sorted(result.feed_ids) == sorted(all_entry_ids())
    given_back = sum(
        int(line.split("gave back ")[1].split()[0])
        for log in logs
        for line in log.splitlines()
        if "gave back " in line
    )
    print(
        f"PostgreSQL down {downtime_s:.1f} s (a batch claimed at the stop: {holding}); all {total} analyses "
        f"done {recovered_s:.1f} s after the stop; {given_back} claimed mention(s) given back"
    )


# -- 3. Redis for scrapy-redis ------------------------------------------------------------------------------


def crawl_worker_config(tmp_path: Path, *, database_url: str, redis_url: str, feed_url: str) -> Path:
    config = write_config(
        tmp_path / "vocwatch.toml",
        database_url=database_url,
        body=f"""
[crawl]
redis_url = "{redis_url}"
worker_idle_s = 1
download_delay_s = 0
obey_robots = false
lookback_days = 36500
max_pages = 10

[sources.{FEED}]
kind = "rss"
urls = ["{feed_url}"]
every_minutes = 5
""",
    )
    config.chmod(0o600)
    return config


def test_a_crawl_worker_with_redis_down_exits_with_one_line_naming_the_setting_not_the_password(
    migrated_sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()  # nothing listens there
    config = crawl_worker_config(
        tmp_path,
        database_url=migrated_sqlite_url,
        redis_url=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0",
        feed_url="http://127.0.0.1:9/feed.atom",
    )

    status, stdout, stderr = vocwatch_main(monkeypatch, capsys, config, "crawl", "--worker", FEED)

    assert status == 1, stdout + stderr
    assert_no_traceback(stdout + stderr, where="vocwatch crawl --worker")
    assert REDIS_PASSWORD not in stdout + stderr
    error, fix = stderr.strip().splitlines()
    assert error.startswith("error: Redis at crawl.redis_url is unreachable: ") and f":{port}" in error, error
    assert fix.startswith("fix: start Redis or correct crawl.redis_url"), fix
    assert tally(migrated_sqlite_url).runs == []  # nothing was crawled, so no run is recorded


@pytest.mark.parametrize("restart", ["after_the_worker", "at_once"])
def test_redis_killed_mid_crawl_fails_the_run_clearly_and_after_a_restart_a_new_round_stores_every_item_once(
    restart: str,
    migrated_sqlite_url: str,
    tmp_path: Path,
    private_redis_server: PrivateRedis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    redis_server = private_redis_server
    with GatedSite(paged_feed(FEED, pages=PAGES, per_page=PER_PAGE)) as site:
        config = crawl_worker_config(
            tmp_path, database_url=migrated_sqlite_url, redis_url=redis_server.url, feed_url=site.url(page(1))
        )
        settings = load_settings(config)
        app = build_app(settings)
        stages.sync_catalog(app.sessions, settings)  # what `vocwatch crawl` does first
        app.engine.dispose()
        site.hold(page(2))
        site.hold(page(3))
        # `vocwatch crawl --worker forum`, in a thread: join the round in Redis, run `python -m crawlers`.
        outcome: list[CrawlOutcome | BaseException] = []

        def first_worker() -> None:
            try:
                outcome.append(run_crawl_worker(settings, FEED, settings.sources[FEED]))
            except Exception as exc:  # checked below
                outcome.append(exc)

        worker = threading.Thread(target=first_worker, name="crawl-worker")
        worker.start()
        try:
            site.wait_requested(page(2), timeout_s=60)
            wait_until(
                lambda: len(tally(migrated_sqlite_url, source=FEED).feed_ids) == PER_PAGE,
                timeout_s=30,
                what="page 1",
            )
            redis_server.kill()  # the frontier vanishes while page 2 (which links page 3) is in flight
            if restart == "at_once":
                redis_server.start()  # back at once, but EMPTY: the worker reconnects to a blank frontier
            site.release(page(2))
            site.release(page(3))
            worker.join(timeout=60)
            assert not worker.is_alive(), "the crawl worker hangs without Redis"
        finally:
            site.release(page(2))
            site.release(page(3))
            worker.join(timeout=60)
        lost_round = tally(migrated_sqlite_url, source=FEED)

        if restart == "after_the_worker":
            redis_server.start()  # back, EMPTY: no round marker, no queue, no fingerprints
        status, stdout, stderr = vocwatch_main(monkeypatch, capsys, config, "crawl", "--worker", FEED)

    # The worker that lost its frontier ends with one clear error and a failed run that names the cause,
    # so the next round does not stop "caught up" before the pages the lost queue held.
    (first,) = outcome
    if restart == "after_the_worker":  # its last step, expiring the round's keys, meets Redis still down
        assert isinstance(first, VocwatchError) and "Redis at crawl.redis_url is unreachable" in str(first)
    else:
        assert isinstance(first, CrawlOutcome) and first.returncode == 1, first
        assert "shared_frontier_lost" in first.stderr_tail.splitlines()[-1], first.stderr_tail
    (failed_run,) = lost_round.runs
    assert (failed_run.status, failed_run.stop_reason) == (storage.CrawlRunStatus.FAILED, "error")
    assert failed_run.error is not None
    assert failed_run.error.startswith("crawl closed: shared_frontier_lost: "), failed_run.error
    pages_1_and_2 = {entry_id(FEED, n) for n in range(PER_PAGE + 1, PAGES * PER_PAGE + 1)}
    assert pages_1_and_2 <= set(lost_round.feed_ids)

    # A new round after the restart reads every page again; the lost one is stored, nothing twice.
    assert status == 0, stdout + stderr
    result = tally(migrated_sqlite_url, source=FEED)
    _, next_run = result.runs
    assert next_run.status == storage.CrawlRunStatus.OK
    assert next_run.items_new == PAGES * PER_PAGE - len(lost_round.feed_ids)
    assert sorted(result.feed_ids) == sorted(all_entry_ids())
    print(
        f"Redis restarted {restart}: lost round {failed_run.error!r}; next round stored {next_run.items_new}"
    )
