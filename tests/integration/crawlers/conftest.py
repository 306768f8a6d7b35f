"""Fixtures of the crawl tests (helpers live in `crawling.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.crawling import CrawlDb, make_crawl_db


@pytest.fixture
def crawl_db(db_url: str) -> Iterator[CrawlDb]:
    """A migrated database (SQLite, and PostgreSQL where reachable) with the `acme-news` rss source."""
    db = make_crawl_db(db_url)
    yield db
    db.engine.dispose()


@pytest.fixture
def sqlite_crawl_db(migrated_sqlite_url: str) -> Iterator[CrawlDb]:
    """The same on SQLite only, for the behaviours that do not depend on the backend."""
    db = make_crawl_db(migrated_sqlite_url)
    yield db
    db.engine.dispose()
