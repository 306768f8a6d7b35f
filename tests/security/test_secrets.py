"""Secrets never reach logs or error output; a config exposing them is warned about (issue 10, point 4).

The operator's secrets (Slack token, database password, source credentials, the author-hash key) are
planted with unmistakable values, then the real processes run at their most talkative (`--debug`, crawl
log level DEBUG), on success and on failure; none of the values may appear in anything they print.
(The web UI's part of point 4 — error pages, session cookies — waits for the review UI, issue 8.)
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import storage
from storage.enums import AlertKind
from tests.support.cli import vocwatch
from tests.support.crawling import make_crawl_db, run_crawl, runspec
from tests.support.faults import FaultServer
from tests.support.feeds import atom_page
from vocwatch.config_file import exposed_secrets_warning, secret_keys
from vocwatch.settings import load_settings
from vocwatch.testing.fakeslack import FakeSlackServer

TOKEN = "xoxb-SECRET-7f3a9c-TOKEN"
DB_PASSWORD = "SECRET-db-pw-91d2"
HASH_KEY = "SECRET-hash-key-55e1"
CLIENT_SECRET = "SECRET-client-4b7e"
SECRETS = (TOKEN, DB_PASSWORD, HASH_KEY, CLIENT_SECRET)


def with_password(url: str) -> str:
    """The test database's URL with a password (PostgreSQL trust auth ignores it; a leak would show it)."""
    return make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def assert_no_secret(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, f"{secret!r} leaked:\n{output[-3000:]}"


def write_config(path: Path, *, database_url: str, slack_url: str, data_dir: Path, mode: int) -> None:
    path.write_text(
        f"""data_dir = "{data_dir}"
database_url = "{database_url}"

[slack]
token = "{TOKEN}"
base_url = "{slack_url}"
default_channel = "#cx"

[crawl]
author_privacy = "hash"
author_hash_key = "{HASH_KEY}"

[sources.acme_reddit]
kind = "reddit"
query = "acme"
credentials = {{ client_id = "id", client_secret = "{CLIENT_SECRET}" }}
""",
        encoding="utf-8",
    )
    path.chmod(mode)


def enqueue_alert(url: str, key: str) -> None:
    engine = storage.make_engine(url)
    storage.upgrade(engine)
    with storage.make_session_factory(engine).begin() as session:
        storage.alerts.enqueue_alert(
            session,
            kind=AlertKind.MENTION,
            dedup_key=key,
            channel="#cx",
            text="a customer is angry",
            blocks=[],
            now=datetime.now(UTC),
        )
    engine.dispose()


def test_dispatch_at_debug_level_never_prints_a_secret_on_success_or_failure(
    migrated_postgres_url: str, tmp_path: Path
) -> None:
    url = with_password(migrated_postgres_url)
    enqueue_alert(url, "mention:1")
    config = tmp_path / "vocwatch.toml"
    with FakeSlackServer(channels=("cx",)) as slack:
        write_config(config, database_url=url, slack_url=slack.base_url, data_dir=tmp_path, mode=0o600)
        slack.fail_next("chat.postMessage", "invalid_auth")
        failing = vocwatch("--debug", "-c", str(config), "alerts", "dispatch", cwd=tmp_path, timeout=120)
        enqueue_alert(url, "mention:2")
        working = vocwatch("--debug", "-c", str(config), "alerts", "dispatch", cwd=tmp_path, timeout=120)
        posted = slack.calls("chat.postMessage")

    assert "invalid_auth" in failing.stdout + failing.stderr
    assert len(posted) == 2 and "sent 1" in working.stdout, working.stdout + working.stderr
    assert "DEBUG" in working.stderr  # it really was talkative
    assert_no_secret(failing.stdout + failing.stderr)
    assert_no_secret(working.stdout + working.stderr)


def test_an_unreachable_database_error_names_the_problem_not_the_password(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    missing = make_url(with_password(postgres_admin_url)).set(database="vocwatch_no_such_db")
    config = tmp_path / "vocwatch.toml"
    url = missing.render_as_string(hide_password=False)
    write_config(config, database_url=url, slack_url="http://127.0.0.1:9/api/", data_dir=tmp_path, mode=0o600)

    result = vocwatch("-c", str(config), "alerts", "dispatch", cwd=tmp_path, timeout=120)

    assert result.returncode != 0
    assert "vocwatch_no_such_db" in result.stdout + result.stderr
    assert_no_secret(result.stdout + result.stderr)


def test_a_crawl_at_debug_level_never_logs_the_database_password_or_keys(migrated_postgres_url: str) -> None:
    url = with_password(migrated_postgres_url)
    db = make_crawl_db(url)
    try:
        with FaultServer() as site:
            site.serve("/feed.atom", atom_page("feed", range(3, 0, -1)), "application/atom+xml")
            spec = runspec(
                db,
                [site.url("/feed.atom")],
                log_level="DEBUG",
                author_privacy="hash",
                author_hash_key=HASH_KEY,
                credentials={"client_secret": CLIENT_SECRET},
            )
            crawl = run_crawl(json.dumps(spec))
    finally:
        db.engine.dispose()

    assert crawl.returncode == 0, crawl.stderr[-2000:]
    assert "DEBUG" in crawl.stderr
    assert_no_secret(crawl.stderr + json.dumps(crawl.summary))


def test_a_config_with_secrets_readable_by_others_is_warned_about_by_key_not_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "vocwatch.toml"
    write_config(
        config,
        database_url=f"postgresql+psycopg://vocwatch:{DB_PASSWORD}@db.internal/vocwatch",
        slack_url="http://127.0.0.1:9/api/",
        data_dir=tmp_path,
        mode=0o644,
    )

    with caplog.at_level(logging.WARNING, logger="vocwatch.settings"):
        load_settings(config)

    [warning] = [r.getMessage() for r in caplog.records if "other users" in r.getMessage()]
    assert "chmod 600" in warning and "mode 644" in warning
    assert "slack.token" in warning and "database_url" in warning
    assert_no_secret(warning)

    caplog.clear()
    config.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="vocwatch.settings"):
        load_settings(config)
    assert not [r for r in caplog.records if "other users" in r.getMessage()]


def test_only_configs_that_hold_secrets_are_warned_about(tmp_path: Path) -> None:
    config = tmp_path / "vocwatch.toml"
    config.write_text('[alerts]\nnegative_threshold = 0.8\n[slack]\ntoken = ""\n', encoding="utf-8")
    config.chmod(0o644)
    assert exposed_secrets_warning(config, {"alerts": {}, "slack": {"token": ""}}) is None
    assert secret_keys(
        {
            "database_url": "sqlite:///x.db",
            "crawl": {"redis_url": "redis://:pw@cache:6379/0"},
            "sources": {"a": {"credentials": {"k": "v"}}, "b": {"credentials": {}}},
        }
    ) == ["crawl.redis_url", "sources.a.credentials"]


def test_the_example_config_is_written_private(tmp_path: Path) -> None:
    from vocwatch.config_file import write_example_config

    path = tmp_path / "vocwatch.toml"
    old = os.umask(0o022)
    try:
        write_example_config(path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o077 == 0
