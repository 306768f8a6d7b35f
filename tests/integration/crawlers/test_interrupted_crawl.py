"""A crawl that is stopped or killed still leaves its trace in the coverage ledger."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from storage import CrawlRunStatus
from tests.integration.crawlers.crawling import REPO_ROOT, CrawlDb, runspec
from tests.support.sites import LocalSite, Reply

pytestmark = pytest.mark.integration

HANGING = "/feeds/paged/page-1.atom"


def wait_for(condition: Callable[[], bool], *, timeout_s: float = 30, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@contextmanager
def crawl_in_background(db: CrawlDb, site: LocalSite, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A crawl of a feed whose server takes 20 s to answer, running once its request reached the server."""
    site.script(HANGING, Reply(200, {}, None, delay_s=20))
    spec = tmp_path / "runspec.json"
    spec.write_text(json.dumps(runspec(db, [site.url(HANGING)], retry_times=0, download_timeout_s=3)))
    with spec.open("rb") as stdin, (tmp_path / "crawl.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawlers"], stdin=stdin, stdout=log, stderr=log, cwd=REPO_ROOT
        )
        try:
            wait_for(lambda: bool(site.requests_for(HANGING)), what="the feed request")
            wait_for(lambda: len(db.runs()) == 1, what="the crawl_runs row")
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def test_killed_crawl_leaves_a_running_run_behind(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite, tmp_path: Path
) -> None:
    with crawl_in_background(sqlite_crawl_db, local_site, tmp_path) as process:
        process.kill()

    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.finished_at) == (CrawlRunStatus.RUNNING, None)


def test_sigterm_stops_the_crawl_and_records_a_shutdown(
    sqlite_crawl_db: CrawlDb, local_site: LocalSite, tmp_path: Path
) -> None:
    with crawl_in_background(sqlite_crawl_db, local_site, tmp_path) as process:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=60)

    assert returncode == 1, (tmp_path / "crawl.log").read_text()
    [run] = sqlite_crawl_db.runs()
    assert (run.status, run.stop_reason) == (CrawlRunStatus.FAILED, "shutdown")
    assert run.finished_at is not None
