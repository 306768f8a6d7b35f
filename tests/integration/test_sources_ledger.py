"""The coverage ledger end to end: a source crawled fine, its server stops → `vocwatch sources` says dark."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import storage
from tests.support.crawling import SOURCE, CrawlDb, make_crawl_db, run_crawl, runspec
from tests.support.sites import DATA_DIR, LocalSite, serve_page_case
from vocwatch.stages.ledger import SourceStatus, source_ledger

REPO_ROOT = DATA_DIR.parents[1]


@pytest.fixture
def crawl_db(migrated_sqlite_url: str) -> Iterator[CrawlDb]:
    db = make_crawl_db(migrated_sqlite_url)
    yield db
    db.engine.dispose()


@pytest.fixture
def site() -> Iterator[LocalSite]:
    site = LocalSite(DATA_DIR, conditional=False).start()
    yield site
    site.stop()  # a second stop is harmless


@pytest.mark.slow  # the second crawl waits out a connection refused by the stopped server
def test_source_goes_dark_after_its_server_stops(crawl_db: CrawlDb, site: LocalSite, tmp_path: Path) -> None:
    url = serve_page_case(site, DATA_DIR / "pages" / "rss" / "news-rss20")
    spec = runspec(crawl_db, [url], retry_times=0)

    ok = run_crawl(spec)
    assert ok.returncode == 0, ok.stderr
    [(source, health)] = source_ledger(crawl_db.sessions, now=datetime.now(UTC))
    assert (source.name, health.status, health.last_stop_reason) == (SOURCE, SourceStatus.OK, "completed")
    assert health.items_24h > 0

    site.stop()  # connections are refused from now on
    for _ in range(3):
        crawl = run_crawl(spec)
        assert crawl.returncode != 0
        assert crawl.summary is not None and crawl.summary["stop_reason"] == "unreachable"

    [(source, health)] = source_ledger(crawl_db.sessions, now=datetime.now(UTC))
    assert health.status is SourceStatus.DARK
    assert health.reason == "last 3 run(s) failed: unreachable"
    assert health.error_rate == 0.75
    assert health.last_success_at == crawl_db.runs()[0].started_at

    config = tmp_path / "vocwatch.toml"
    config.write_text(f'database_url = "{crawl_db.url}"\n', encoding="utf-8")
    shown = subprocess.run(
        [sys.executable, "-m", "vocwatch", "--config", str(config), "sources"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert shown.returncode == 2, shown.stderr  # dark: a cron job can alert on it
    [line] = [line for line in shown.stdout.splitlines() if SOURCE in line]
    assert "dark" in line and "unreachable" in line and "75%" in line


def test_list_recent_runs_keeps_the_window_and_the_latest_runs(migrated_sqlite_url: str) -> None:
    engine = storage.make_engine(migrated_sqlite_url)
    sessions = storage.make_session_factory(engine)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with sessions.begin() as session:
        weekly = storage.sources.upsert_source(
            session, name="weekly", kind="rss", config={}, default_touchpoint=None
        )
        busy = storage.sources.upsert_source(
            session, name="busy", kind="rss", config={}, default_touchpoint=None
        )
        for weeks in range(1, 6):  # one run a week, all older than the window but the first
            storage.runs.start_run(session, source_id=weekly.id, now=now - timedelta(weeks=weeks, hours=1))
        for hours in range(1, 31):  # 30 runs inside the window
            storage.runs.start_run(session, source_id=busy.id, now=now - timedelta(hours=hours))
        weekly_id, busy_id = weekly.id, busy.id

    with sessions() as session:
        runs = storage.runs.list_recent_runs(session, since=now - timedelta(days=2), at_least=3)
        started = {source_id: [now - r.started_at for r in rows] for source_id, rows in runs.items()}
    engine.dispose()

    assert started[weekly_id] == [timedelta(weeks=w, hours=1) for w in (1, 2, 3)]  # the latest 3, however old
    assert len(started[busy_id]) == 30 and started[busy_id][0] == timedelta(
        hours=1
    )  # the window, newest first
