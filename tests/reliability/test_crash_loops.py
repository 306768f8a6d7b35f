"""Crash safety under SIGKILL loops (issue 10, point 1): kill, restart, repeat; then let it finish.

- **Crawler**: the crawl process (`python -m crawlers`) reads a 30-page feed from a slow server and is
  killed after a random number of pages, again and again; then one crawl runs to the end. Every
  entry of the feed must be stored exactly once: a kill after an early batch was committed must not
  make the next crawl believe it is caught up at page 1 and skip the older pages for good.
- **Dispatcher**: the real dispatcher process against a slow fake Slack is killed while replies are in
  flight (the existing integration test's driver, at a larger scale): every alert posted exactly once.

Default sizes run in CI; `VOCWATCH_LONG_TESTS=1` kills each process 50 times (see conftest.py).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

import storage
from storage import models
from tests.integration.crawlers.crawling import REPO_ROOT, CrawlDb, make_crawl_db, run_crawl, runspec
from tests.integration.test_dispatcher_crash import DRIVER, STUCK_AFTER_S, SlowSlack, outstanding
from tests.reliability.feeds import entry_id, paged_feed
from tests.support.faults import Fault, FaultKind, FaultServer, wait_until

pytestmark = pytest.mark.integration

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
