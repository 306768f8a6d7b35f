"""Posting the digest to a fake Slack over real HTTP: Block Kit shape, chart upload, once per week and
channel, and recovery after a crash between the steps. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifier.digest import WeeklyDigest, render_chart
from notifier.digest.slack import DIGEST_EVENT_TYPE
from storage import digests as digest_rows
from storage.enums import DigestStatus
from storage.models import Digest
from vocwatch.settings import DigestSettings, Settings, SlackSettings
from vocwatch.stages.digest import PostOutcome, post_digest, scheduled_digest
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.wiring import build_app

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CHANNEL = "#cx-digest"


def _post(
    sessions: sessionmaker[Session],
    client: WebClient,
    digest: WeeklyDigest,
    *,
    channel: str = CHANNEL,
    at: datetime = NOW,
) -> PostOutcome:
    return post_digest(sessions, client, digest, render_chart(digest), channel=channel, now=at)


def _row(sessions: sessionmaker[Session], channel: str = CHANNEL) -> Digest:
    with sessions() as session:
        return session.scalars(select(Digest).where(Digest.channel == channel)).one()


def test_digest_is_block_kit_within_limits_with_escaped_quotes_and_a_png_chart(
    sessions: sessionmaker[Session],
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
    digest: WeeklyDigest,
) -> None:
    outcome = _post(sessions, slack_client, digest)

    assert outcome.status == "posted"
    (call,) = fake_slack.calls("chat.postMessage")
    blocks = call.args["blocks"]
    assert 0 < len(blocks) <= 50
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "Weekly customer voice · 2026-W47"
    for block in blocks:
        assert len(block.get("text", {}).get("text", "")) <= 3000
    payload = json.dumps(blocks, ensure_ascii=False)
    assert "&lt;!channel&gt; late again &amp; &lt;script&gt;" in payload
    assert "<!channel>" not in payload and "<@U123>" not in payload
    assert "*delivery* — 10 mentions · negative 60% (95% CI 31–83%) · +10.0 pts vs last week" in payload
    assert call.args["metadata"] == {
        "event_type": DIGEST_EVENT_TYPE,
        "event_payload": {"digest_key": "2026-W47:#cx-digest"},
    }
    (upload,) = fake_slack.calls("files.completeUploadExternal")
    assert upload.args["channel_id"] == fake_slack.channel_id(CHANNEL)
    (chart,) = fake_slack.files
    assert chart.content is not None and chart.content.startswith(b"\x89PNG")
    assert chart.filename == "vocwatch-digest-2026-W47-cx-digest.png"
    row = _row(sessions)
    assert (row.status, row.slack_ts, row.chart_file_id, row.attempts) == (
        DigestStatus.SENT,
        outcome.ts,
        chart.id,
        1,
    )


def test_a_week_is_posted_once_per_channel(
    sessions: sessionmaker[Session],
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
    digest: WeeklyDigest,
) -> None:
    assert _post(sessions, slack_client, digest).status == "posted"
    again = _post(sessions, slack_client, digest, at=NOW + timedelta(hours=1))
    other = _post(sessions, slack_client, digest, channel="#management")

    assert again.status == "already_sent"
    assert other.status == "posted"
    assert len(fake_slack.calls("chat.postMessage")) == 2
    assert len(fake_slack.calls("files.completeUploadExternal")) == 2


def test_a_crash_after_the_message_is_reconciled_from_the_channel_history(
    sessions: sessionmaker[Session],
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
    digest: WeeklyDigest,
) -> None:
    # The process claimed the row and Slack got the message, then it died before recording the ts.
    with sessions.begin() as session:
        row = digest_rows.get_digest_for_update(session, week="2026-W47", channel=CHANNEL, now=NOW)
        row.claimed_at, row.attempts = NOW, 1
    posted = fake_slack.post_message(
        CHANNEL,
        "Weekly customer voice 2026-W47",
        metadata={"event_type": DIGEST_EVENT_TYPE, "event_payload": {"digest_key": "2026-W47:#cx-digest"}},
    )

    outcome = _post(sessions, slack_client, digest, at=NOW + timedelta(minutes=30))

    assert (outcome.status, outcome.ts, outcome.reconciled) == ("posted", posted.ts, 1)
    assert fake_slack.calls("chat.postMessage") == []  # found, not posted again
    assert len(fake_slack.calls("files.completeUploadExternal")) == 1  # the chart was still owed
    assert _row(sessions).status == DigestStatus.SENT


def test_a_crash_after_the_chart_upload_does_not_upload_it_again(
    sessions: sessionmaker[Session],
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
    digest: WeeklyDigest,
) -> None:
    first = _post(sessions, slack_client, digest)
    with sessions.begin() as session:  # as if the process died before recording the chart
        row = digest_rows.get_digest_for_update(session, week="2026-W47", channel=CHANNEL, now=NOW)
        row.status, row.chart_file_id = DigestStatus.PENDING, None

    outcome = _post(sessions, slack_client, digest, at=NOW + timedelta(minutes=30))

    assert (outcome.status, outcome.chart_file_id, outcome.reconciled) == ("posted", first.chart_file_id, 1)
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert len(fake_slack.calls("files.getUploadURLExternal")) == 1


def test_a_digest_being_posted_by_another_process_is_left_alone(
    sessions: sessionmaker[Session],
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
    digest: WeeklyDigest,
) -> None:
    with sessions.begin() as session:
        row = digest_rows.get_digest_for_update(session, week="2026-W47", channel=CHANNEL, now=NOW)
        row.claimed_at, row.attempts = NOW, 1

    outcome = _post(sessions, slack_client, digest, at=NOW + timedelta(minutes=1))

    assert outcome.status == "in_progress"
    assert fake_slack.calls("chat.postMessage") == []


def test_slack_errors_leave_the_digest_owed_or_failed(
    sessions: sessionmaker[Session],
    slack_client: WebClient,
    fake_slack: FakeSlackServer,
    digest: WeeklyDigest,
) -> None:
    fake_slack.fail_next("chat.postMessage", "internal_error")
    transient = _post(sessions, slack_client, digest)
    assert (transient.status, _row(sessions).status) == ("failed", DigestStatus.PENDING)

    retried = _post(sessions, slack_client, digest, at=NOW + timedelta(minutes=1))
    assert retried.status == "posted"
    assert len([m for m in fake_slack.messages(CHANNEL) if m.metadata]) == 1

    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    permanent = _post(sessions, slack_client, digest, channel="#gone")
    row = _row(sessions, "#gone")
    assert (permanent.status, row.status, row.last_error) == (
        "failed",
        DigestStatus.FAILED,
        "Slack error: channel_not_found",
    )


def test_the_weekly_job_posts_the_finished_week_once_after_monday_morning(
    sessions: sessionmaker[Session], db_url: str, fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=db_url,
        slack=SlackSettings(token=SecretStr("xoxb-test"), base_url=fake_slack.base_url),
        digest=DigestSettings(channel=CHANNEL, post_hour=8),
    )
    app = build_app(settings)
    try:
        too_early = scheduled_digest(app, now=datetime(2026, 11, 23, 7, 59, tzinfo=UTC))
        due = scheduled_digest(app, now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
        restarted = scheduled_digest(app, now=datetime(2026, 11, 23, 8, 15, tzinfo=UTC))
        # A week that ended before the first mention was collected: nothing was monitored yet.
        before_install = scheduled_digest(app, now=datetime(2026, 9, 1, 9, 0, tzinfo=UTC))
    finally:
        app.engine.dispose()

    assert (too_early, due, restarted) == ({"due": 0}, {"due": 1, "posted": 1}, {"due": 0})
    assert before_install == {"due": 0, "before_first_mention": 1}
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert (tmp_path / "digests" / "digest-2026-W47.html").exists()
    assert (tmp_path / "digests" / "digest-2026-W47.csv").exists()
