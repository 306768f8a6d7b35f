"""`vocwatch digest` as an operator runs it: real subprocesses, a temp data dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.cli import vocwatch


def test_digest_of_an_empty_database_writes_html_and_csv(tmp_path: Path) -> None:
    env = {"VOCWATCH_DATA_DIR": str(tmp_path / "data")}
    assert vocwatch("init", cwd=tmp_path, env=env).returncode == 0

    result = vocwatch("digest", "--week", "2026-W47", "--to", "html", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    html = tmp_path / "data" / "digests" / "digest-2026-W47.html"
    assert f"wrote {html}" in result.stdout.replace("\n", "")
    assert "No mentions or survey answers were stored for this week." in html.read_text(encoding="utf-8")
    assert (tmp_path / "data" / "digests" / "digest-2026-W47.csv").exists()


def test_digest_errors_are_one_line_with_the_fix(tmp_path: Path) -> None:
    env = {"VOCWATCH_DATA_DIR": str(tmp_path / "data")}
    assert vocwatch("init", cwd=tmp_path, env=env).returncode == 0

    bad_week = vocwatch("digest", "--week", "47", cwd=tmp_path, env=env)
    no_token = vocwatch("digest", "--week", "2026-W47", "--to", "slack", cwd=tmp_path, env=env)

    no_demo = vocwatch("digest", "--demo", "--week", "2026-W47", "--to", "html", cwd=tmp_path, env=env)

    for result in (bad_week, no_token, no_demo):
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
    assert "error: week '47' is not of the form YYYY-Www" in bad_week.stderr
    assert "error: slack.token is not set" in no_token.stderr and "fix:" in no_token.stderr
    assert "error: no demo database at" in no_demo.stderr and "run `vocwatch demo` first" in no_demo.stderr


def test_digest_after_the_demo_posts_blocks_and_chart_to_the_fake_slack_and_writes_html(
    tmp_path: Path, default_model_dir: Path
) -> None:
    env = {
        "VOCWATCH_DATA_DIR": str(tmp_path / "data"),
        "VOCWATCH_MODEL__DIR": str(default_model_dir),
        "COLUMNS": "200",
    }
    assert vocwatch("demo", cwd=tmp_path, env=env).returncode == 0

    result = vocwatch("digest", "--demo", "--week", "2026-W47", cwd=tmp_path, env=env)
    again = vocwatch("digest", "--demo", "--week", "2026-W47", cwd=tmp_path, env=env)
    own = vocwatch("digest", "--week", "2026-W47", "--to", "html", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "digest of the demo database" in out
    assert "posted to #cx-alerts on the local fake Slack" in out
    assert "Weekly customer voice 2026-W47: 12 mentions analyzed, 42% negative" in out
    assert "[file] vocwatch-digest-2026-W47-cx-alerts.png" in out
    reports = tmp_path / "data" / "demo" / "digests"
    assert "data:image/png;base64," in (reports / "digest-2026-W47.html").read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "data" / "demo" / "vocwatch-demo.db") as db:
        rows = db.execute("SELECT week, channel, status, chart_file_id IS NOT NULL FROM digests").fetchall()
    assert rows == [("2026-W47", "#cx-alerts", "sent", 1)]
    assert again.returncode == 0, again.stderr
    assert "already posted to #cx-alerts" in again.stdout
    # without --demo the digest is of the operator's own (still empty) database, never the demo's
    assert own.returncode == 0, own.stderr
    assert "digest of the demo database" not in own.stdout
    assert "2026-W47: no analyzed mentions" in own.stdout
    assert (tmp_path / "data" / "digests" / "digest-2026-W47.html").exists()
