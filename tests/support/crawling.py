"""Crawl-test helpers: a migrated database with one rss source, and `python -m crawlers` in a subprocess.

Every crawl runs exactly as production runs it (a fresh process, the RunSpec on stdin), so each test also
covers the entry point, the settings, the add-on, the pipelines and the ledger.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import models
from tests.support.paths import REPO_ROOT

SOURCE = "acme-news"
TOUCHPOINT = "press"


@dataclass(frozen=True)
class Crawl:
    returncode: int
    summary: dict[str, Any] | None  # the JSON line on stdout
    stderr: str

    @property
    def last_error_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


@dataclass
class CrawlDb:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    source_id: int
    touchpoint_id: int

    def mentions(self) -> dict[str, models.Mention]:
        with self.sessions() as session:
            rows = session.scalars(select(models.Mention).order_by(models.Mention.id))
            return {row.external_id: row for row in rows}

    def runs(self) -> list[models.CrawlRun]:
        with self.sessions() as session:
            return list(session.scalars(select(models.CrawlRun).order_by(models.CrawlRun.id)))

    def cursor(self) -> dict[str, Any] | None:
        with self.sessions() as session:
            source = session.get(models.Source, self.source_id)
            assert source is not None
            return source.cursor


def make_crawl_db(url: str, *, with_source: bool = True) -> CrawlDb:
    engine = storage.make_engine(url)
    sessions = storage.make_session_factory(engine)
    with sessions.begin() as session:
        storage.catalog.sync_touchpoints(session, [(TOUCHPOINT, storage.JourneyStage.DISCOVER, "News")])
        touchpoint_id = storage.catalog.get_touchpoint_id(session, TOUCHPOINT)
        source_id = 0
        if with_source:
            source = storage.sources.upsert_source(
                session, name=SOURCE, kind="rss", config={}, default_touchpoint=TOUCHPOINT
            )
            source_id = source.id
    assert touchpoint_id is not None
    return CrawlDb(url, engine, sessions, source_id, touchpoint_id)


def runspec(db: CrawlDb, urls: Sequence[str], **overrides: Any) -> dict[str, Any]:
    """A RunSpec for the test source: no delay, no lookback (the feeds are dated 2024), quick retries."""
    return {
        "source_name": SOURCE,
        "kind": "rss",
        "urls": list(urls),
        "database_url": db.url,
        "download_delay_s": 0,
        "lookback_days": None,
        "log_level": "INFO",
    } | overrides


def run_crawl(spec: dict[str, Any] | str, *, timeout_s: float = 120) -> Crawl:
    completed = subprocess.run(
        [sys.executable, "-m", "crawlers"],
        input=spec if isinstance(spec, str) else json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout_s,
        check=False,
    )
    stdout = completed.stdout.strip()
    summary = json.loads(stdout.splitlines()[-1]) if stdout else None
    return Crawl(completed.returncode, summary, completed.stderr)
