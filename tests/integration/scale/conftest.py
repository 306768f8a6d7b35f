"""Scale-out test parts: a real Redis, `vocwatch` processes on one PostgreSQL database, seeded mentions.

- `redis_url`  Redis at 127.0.0.1:6379 (TEST_REDIS_URL overrides); skipped with the reason when it is
               unreachable, except under CI=true, where the test fails (like PostgreSQL in tests/support/db).
- `processes`  (tests.support.processes) `vocwatch` subprocesses, killed at teardown if still running.
- `write_config(...)`  a vocwatch.toml for the subprocesses of one test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

import storage
from tests.support.models import LABELLED_REVIEWS

REDIS_URL = "redis://127.0.0.1:6379/0"

# A `vocwatch run` of a scaled-out cluster (a config body for `write_config`): no model and no Slack
# needed, analysis and dispatch are left to workers, so the daemon runs the watches, every second.
WATCHES_ONLY_DAEMON = """
[worker]
external_analyzers = true
external_dispatchers = true
standby_poll_s = 0.5

[schedule]
health_check_every_s = 1
incidents_every_s = 1
spike_check_every_s = 1
"""


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        reason = f"Redis unreachable at {url}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the scale-out tests must run)")
        pytest.skip(reason)
    return url


def write_config(path: Path, *, database_url: str, body: str = "") -> Path:
    """A config whose data dir is the config's directory; `body` adds TOML tables."""
    path.write_text(f'data_dir = "{path.parent}"\ndatabase_url = "{database_url}"\n{body}', encoding="utf-8")
    return path


def model_toml(model_dir: Path, heads_dir: Path, *, batch_size: int = 32) -> str:
    return f'\n[model]\ndir = "{model_dir}"\nheads_dir = "{heads_dir}"\nbatch_size = {batch_size}\n'


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll `condition` every 0.05 s until it holds; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def seed_mentions(database_url: str, count: int, *, source: str = "forum") -> None:
    """`count` new mentions in one source: the labelled test reviews, numbered so that no two are equal."""
    engine = storage.make_engine(database_url)
    now = datetime.now(UTC)
    try:
        with storage.make_session_factory(engine).begin() as session:
            row = storage.sources.upsert_source(
                session, name=source, kind="rss", config={}, default_touchpoint=None
            )
            session.flush()
            source_id = row.id
            items = [
                storage.NewMention(
                    source_id=source_id,
                    external_id=f"post-{i}",
                    url=f"https://forum.example/{i}",
                    text=f"{LABELLED_REVIEWS[i % len(LABELLED_REVIEWS)][1]} (#{i})",
                    collected_at=now,
                    published_at=now - timedelta(minutes=i),
                )
                for i in range(count)
            ]
            storage.mentions.insert_new_mentions(session, items)
    finally:
        engine.dispose()
