"""Scale-out test parts: `vocwatch` processes of one cluster sharing a database, and seeded mentions.

- `write_config(...)`  a vocwatch.toml for the subprocesses of one test (`model_toml` adds a [model] table).
- `WATCHES_ONLY_DAEMON`  the config body of a daemon that leaves analysis and dispatch to workers.
- `seed_mentions(url, n)`  `n` new mentions of the labelled test reviews in one source.

The processes themselves: `tests.support.processes`; Redis: the `redis_url` fixture (tests/integration/scale).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import storage
from tests.support.models import LABELLED_REVIEWS

__all__ = ["WATCHES_ONLY_DAEMON", "model_toml", "seed_mentions", "write_config"]

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


def write_config(path: Path, *, database_url: str, body: str = "") -> Path:
    """A config whose data dir is the config's directory; `body` adds TOML tables."""
    path.write_text(f'data_dir = "{path.parent}"\ndatabase_url = "{database_url}"\n{body}', encoding="utf-8")
    return path


def model_toml(model_dir: Path, heads_dir: Path, *, batch_size: int = 32) -> str:
    return f'\n[model]\ndir = "{model_dir}"\nheads_dir = "{heads_dir}"\nbatch_size = {batch_size}\n'


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
