"""A crawl that is stopped or killed still leaves its trace in the coverage ledger."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from storage import CrawlRunStatus
from tests.support.crawling import CrawlDb, runspec
from tests.support.paths import REPO_ROOT
from tests.support.sites import LocalSite, Reply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow  # crawl processes stopped and killed mid-request, and waited for

HANGING = "/feeds/paged/page-1.atom"


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
            wait_until(lambda: bool(site.requests_for(HANGING)), timeout_s=30, what="the feed request")
            wait_until(lambda: len(db.runs()) == 1, timeout_s=30, what="the crawl_runs row")
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
