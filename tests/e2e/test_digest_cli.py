"""`vocwatch digest` as an operator runs it: real subprocesses, a temp data dir."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifier.digest import IsoWeek
from tests.support.cli import vocwatch
from vocwatch.testing.fakeslack import FakeSlackServer


def _slack_env(tmp_path: Path, fake_slack: FakeSlackServer) -> dict[str, str]:
    return {
        "VOCWATCH_DATA_DIR": str(tmp_path / "data"),
        "VOCWATCH_SLACK__TOKEN": "xoxb-test",
        "VOCWATCH_SLACK__BASE_URL": fake_slack.base_url,
        "COLUMNS": "300",
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


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


def test_the_week_under_way_is_refused_unless_partial_and_a_preview_is_not_the_weeks_digest(
    tmp_path: Path, fake_slack: FakeSlackServer
) -> None:
    env = _slack_env(tmp_path, fake_slack)
    assert vocwatch("init", cwd=tmp_path, env=env).returncode == 0
    now = datetime.now(UTC)
    week, upcoming = IsoWeek.containing(now.date()), IsoWeek.containing(now.date() + timedelta(days=7))
    start, end = week.bounds()
    answers = tmp_path / "answers.csv"
    answers.write_text(f"respondent_id,NPS,date\nr-1,9,{start.isoformat()}\nr-2,3,{start.isoformat()}\n")
    assert vocwatch("import-survey", str(answers), cwd=tmp_path, env=env).returncode == 0

    refused = vocwatch("digest", "--week", str(week), cwd=tmp_path, env=env)
    not_started = vocwatch("digest", "--week", str(upcoming), "--partial", cwd=tmp_path, env=env)
    preview = vocwatch("digest", "--week", str(week), "--partial", cwd=tmp_path, env=env)

    ends = f"{end:%a} {end.day} {end:%b %Y} 00:00 UTC"
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"error: week {week} is not over yet (it ends {ends})" in _one_line(refused.stderr)
    assert "fix: pass --partial to post a preview marked partial" in _one_line(refused.stderr)
    assert f"or wait until {ends}" in _one_line(refused.stderr)
    assert not_started.returncode == 1 and "Traceback" not in not_started.stderr
    assert f"error: week {upcoming} has not started yet" in _one_line(not_started.stderr)
    assert preview.returncode == 0, preview.stderr
    out = _one_line(preview.stdout)
    assert f"digest {week} (partial): no analyzed mentions" in out
    assert "Partial: up to " in out and "posted a partial digest to #cx-alerts on Slack" in out
    (message,) = fake_slack.calls("chat.postMessage")  # the refused runs posted nothing
    assert message.args["blocks"][0]["text"]["text"] == f"Weekly customer voice · {week} (partial)"
    assert (tmp_path / "data" / "digests" / f"digest-{week}-partial.html").exists()
    with sqlite3.connect(tmp_path / "data" / "vocwatch.db") as db:
        rows = db.execute("SELECT week, edition, status FROM digests").fetchall()
    assert [(w, edition.startswith("partial@"), status) for w, edition, status in rows] == [
        (str(week), True, "sent")
    ]


def test_an_empty_week_is_written_but_posted_only_with_post_empty(
    tmp_path: Path, fake_slack: FakeSlackServer
) -> None:
    env = _slack_env(tmp_path, fake_slack)
    assert vocwatch("init", cwd=tmp_path, env=env).returncode == 0

    quiet = vocwatch("digest", "--week", "2026-W47", cwd=tmp_path, env=env)
    posted = vocwatch(
        "digest", "--week", "2026-W47", cwd=tmp_path, env={**env, "VOCWATCH_DIGEST__POST_EMPTY": "true"}
    )

    assert quiet.returncode == 0, quiet.stderr
    assert (
        "nothing posted to #cx-alerts: no mentions or survey answers were stored for 2026-W47 "
        "(set [digest] post_empty = true to post empty weeks too)"
    ) in _one_line(quiet.stdout)
    assert "digest-2026-W47.html" in quiet.stdout and "digest-2026-W47.csv" in quiet.stdout
    assert posted.returncode == 0, posted.stderr
    assert "posted to #cx-alerts on Slack" in _one_line(posted.stdout)
    (message,) = fake_slack.calls("chat.postMessage")
    assert message.args["blocks"][0]["text"]["text"] == "Weekly customer voice · 2026-W47"
