"""The `vocwatch` command as an operator runs it: real subprocesses, a temp working dir, a temp data dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.cli import vocwatch


def test_init_writes_a_private_config_and_creates_a_migrated_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = vocwatch("init", cwd=tmp_path, env={"VOCWATCH_DATA_DIR": str(data_dir)})

    assert result.returncode == 0, result.stderr
    config = tmp_path / "vocwatch.toml"
    assert config.exists()
    assert config.stat().st_mode & 0o077 == 0
    with sqlite3.connect(data_dir / "vocwatch.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        touchpoints = {row[0] for row in db.execute("SELECT name FROM touchpoints")}
        journal_mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"mentions", "analyses", "alerts", "sources", "crawl_runs", "alembic_version"} <= tables
    assert {"delivery", "support"} <= touchpoints
    assert journal_mode == "wal"

    again = vocwatch("init", cwd=tmp_path, env={"VOCWATCH_DATA_DIR": str(data_dir)})
    assert again.returncode == 0, again.stderr
    assert "keeping existing config" in again.stdout


def test_bad_config_is_one_line_with_the_fix_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "vocwatch.toml").write_text('[alerts]\nnegative_threshold = "often"\n', encoding="utf-8")

    result = vocwatch("analyze", cwd=tmp_path, env={"VOCWATCH_DATA_DIR": str(tmp_path)})

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: config error in vocwatch.toml: alerts.negative_threshold:")
    assert lines[1].startswith("fix:")


def test_demo_runs_offline_end_to_end_and_alerts_the_negative_mentions(
    tmp_path: Path, default_model_dir: Path
) -> None:
    env = {
        "VOCWATCH_DATA_DIR": str(tmp_path / "data"),
        "VOCWATCH_MODEL__DIR": str(default_model_dir),
        "COLUMNS": "160",
    }

    result = vocwatch("demo", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    database = tmp_path / "data" / "demo" / "vocwatch-demo.db"
    assert f"database: {database}" in result.stdout
    with sqlite3.connect(database) as db:
        mentions = db.execute("SELECT count(*) FROM mentions WHERE status = 'analyzed'").fetchone()[0]
        sent = db.execute(
            "SELECT count(*) FROM alerts WHERE status = 'sent' AND slack_ts IS NOT NULL"
        ).fetchone()[0]
        negative_zh = db.execute(
            "SELECT a.label FROM analyses a JOIN mentions m ON m.id = a.mention_id WHERE m.external_id = ?",
            ("acme-shop-review-90001",),
        ).fetchone()[0]
        zh_text = db.execute(
            "SELECT text FROM mentions WHERE external_id = 'acme-shop-review-90001'"
        ).fetchone()[0]
    assert mentions == 13
    assert sent >= 4
    assert negative_zh == "negative"
    assert "客服态度很差" in zh_text
    assert f"posted {sent} alert(s)" in result.stdout
    assert "Mentions per touchpoint" in result.stdout


def test_init_never_prints_the_database_password(tmp_path: Path, migrated_postgres_url: str) -> None:
    # Trust auth accepts any password, so the secret travels the real connection path.
    url = make_url(migrated_postgres_url).set(password="s3cret-pw")
    env = {
        "VOCWATCH_DATA_DIR": str(tmp_path / "data"),
        "VOCWATCH_DATABASE_URL": url.render_as_string(hide_password=False),
    }
    result = vocwatch("init", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    assert "database ready" in result.stdout
    assert "s3cret-pw" not in result.stdout + result.stderr
