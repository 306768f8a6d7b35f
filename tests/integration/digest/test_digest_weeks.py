"""Which weeks get a digest, and which digests count as the week's: a week that is not over only as a
partial preview that never stands in for the complete digest, and an empty week written but not posted.

Through real parts: the hand-built dataset in a real database (SQLite and PostgreSQL), the fake Slack
over HTTP, the stage functions the CLI and the daemon call.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifier.digest import IsoWeek
from notifier.digest.slack import DIGEST_EVENT_TYPE
from storage.enums import DigestStatus
from storage.models import Digest, Mention
from tests.support.digest_dataset import MONDAY, WEEK
from vocwatch.errors import VocwatchError
from vocwatch.settings import DigestSettings, Settings, SlackSettings
from vocwatch.stages.digest import run_digest, scheduled_digest
from vocwatch.testing.fakeslack import FakeSlackServer
from vocwatch.wiring import App, build_app

CHANNEL = "#cx-digest"
MIDWEEK = datetime(2026, 11, 19, 12, 0, 30, tzinfo=UTC)  # Thursday of 2026-W47
CUTOFF = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
MONDAY_AFTER = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # W47 is over, post_hour 8 has come
EMPTY_WEEK = IsoWeek(2026, 48)  # after the dataset: nothing stored, but mentions were collected before


def _app(db_url: str, fake_slack: FakeSlackServer, tmp_path: Path, **digest: Any) -> App:
    return build_app(
        Settings(
            data_dir=tmp_path,
            database_url=db_url,
            slack=SlackSettings(token=SecretStr("xoxb-test"), base_url=fake_slack.base_url),
            digest=DigestSettings(channel=CHANNEL, post_hour=8, min_mentions=5, **digest),
        )
    )


@pytest.fixture
def app(
    sessions: sessionmaker[Session], db_url: str, fake_slack: FakeSlackServer, tmp_path: Path
) -> Iterator[App]:
    built = _app(db_url, fake_slack, tmp_path)
    yield built
    built.engine.dispose()


def _rows(sessions: sessionmaker[Session]) -> list[tuple[str, str, DigestStatus]]:
    with sessions() as session:
        return [
            (row.week, row.edition, row.status) for row in session.scalars(select(Digest).order_by(Digest.id))
        ]


def _stored_before(sessions: sessionmaker[Session], start: datetime, cutoff: datetime) -> int:
    """Mentions of [start, cutoff) the digest counts (copies are not), read straight from the rows."""
    with sessions() as session:
        mentions = session.scalars(select(Mention).where(Mention.duplicate_of_id.is_(None))).all()
    return sum(start <= (m.published_at or m.collected_at) < cutoff for m in mentions)


def test_the_week_under_way_is_refused_without_partial(
    app: App, sessions: sessionmaker[Session], fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    with pytest.raises(VocwatchError) as refused:
        run_digest(app, WEEK, now=MIDWEEK)

    assert refused.value.message == "week 2026-W47 is not over yet (it ends Mon 23 Nov 2026 00:00 UTC)"
    assert refused.value.fix is not None and refused.value.fix.startswith("pass --partial")
    assert "wait until Mon 23 Nov 2026 00:00 UTC" in refused.value.fix
    assert fake_slack.requests == [] and _rows(sessions) == []
    assert not (tmp_path / "digests").exists()


def test_a_week_that_has_not_started_is_refused_even_with_partial(
    app: App, sessions: sessionmaker[Session], fake_slack: FakeSlackServer
) -> None:
    with pytest.raises(VocwatchError) as refused:
        run_digest(app, IsoWeek(2026, 49), now=MIDWEEK, partial=True)

    assert refused.value.message == "week 2026-W49 has not started yet (it starts Mon 30 Nov 2026 00:00 UTC)"
    assert "--week 2026-W46" in (refused.value.fix or "")
    assert fake_slack.requests == [] and _rows(sessions) == []


def test_a_week_in_a_later_time_zone_is_over_only_when_its_local_sunday_ends(
    sessions: sessionmaker[Session], db_url: str, fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    # 2026-W47 in Tokyo ends Sun 22 Nov 15:00 UTC; in Los Angeles at Mon 23 Nov 08:00 UTC.
    tokyo = _app(db_url, fake_slack, tmp_path, timezone="Asia/Tokyo")
    los_angeles = _app(db_url, fake_slack, tmp_path, timezone="America/Los_Angeles")
    at = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    try:
        assert run_digest(tokyo, WEEK, to="html", now=at).digest.partial_until is None
        with pytest.raises(VocwatchError, match="it ends Mon 23 Nov 2026 00:00 America/Los_Angeles"):
            run_digest(los_angeles, WEEK, to="html", now=at)
    finally:
        tokyo.engine.dispose()
        los_angeles.engine.dispose()


def test_a_partial_digest_is_marked_and_the_complete_one_still_goes_out_once(
    app: App, sessions: sessionmaker[Session], fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    preview = run_digest(app, WEEK, now=MIDWEEK, partial=True)

    # The preview: the data up to the current minute, marked in Slack, HTML and CSV.
    digest = preview.digest
    assert digest.partial_until == CUTOFF
    assert digest.total.mentions + digest.total.unanalyzed == _stored_before(sessions, MONDAY, CUTOFF)
    assert preview.post is not None and preview.post.status == "posted"
    (message,) = fake_slack.calls("chat.postMessage")
    blocks = message.args["blocks"]
    assert blocks[0]["text"]["text"] == "Weekly customer voice · 2026-W47 (partial)"
    assert blocks[2]["text"]["text"].startswith(":warning: *Partial: up to 19 Nov 2026 12:00 (UTC).")
    assert message.args["text"].startswith("Weekly customer voice 2026-W47 (partial): ")
    assert message.args["metadata"]["event_payload"] == {
        "digest_key": "2026-W47:#cx-digest:partial@2026-11-19T12:00Z"
    }
    assert preview.files is not None
    assert preview.files.html == tmp_path / "digests" / "digest-2026-W47-partial.html"
    html = preview.files.html.read_text(encoding="utf-8")
    assert "Weekly customer voice · 2026-W47 (partial)" in html and 'id="partial-week"' in html
    with preview.files.csv.open(encoding="utf-8", newline="") as handle:
        assert {row["partial_until"] for row in csv.DictReader(handle)} == {"2026-11-19T12:00:00Z"}
    assert _rows(sessions) == [("2026-W47", "partial@2026-11-19T12:00Z", DigestStatus.SENT)]

    # The preview is not the week's digest: the weekly job posts the complete one, once.
    due = scheduled_digest(app, now=MONDAY_AFTER)
    restarted = scheduled_digest(app, now=MONDAY_AFTER + timedelta(minutes=15))
    by_hand = run_digest(app, WEEK, now=MONDAY_AFTER + timedelta(hours=1))

    assert (due, restarted) == ({"due": 1, "posted": 1}, {"due": 0})
    assert by_hand.post is not None and by_hand.post.status == "already_sent"
    _preview, complete = fake_slack.calls("chat.postMessage")
    assert complete.args["blocks"][0]["text"]["text"] == "Weekly customer voice · 2026-W47"
    assert "Partial" not in json.dumps(complete.args["blocks"])
    assert complete.args["metadata"]["event_payload"] == {"digest_key": "2026-W47:#cx-digest"}
    assert by_hand.digest.total.mentions == 14  # the whole week, as the dataset says
    assert len(fake_slack.calls("files.completeUploadExternal")) == 2
    assert _rows(sessions) == [
        ("2026-W47", "partial@2026-11-19T12:00Z", DigestStatus.SENT),
        ("2026-W47", "final", DigestStatus.SENT),
    ]
    assert (tmp_path / "digests" / "digest-2026-W47.html").exists()


def test_a_manual_complete_digest_after_a_preview_is_posted_and_then_only_once(
    app: App, sessions: sessionmaker[Session], fake_slack: FakeSlackServer
) -> None:
    run_digest(app, WEEK, to="slack", now=MIDWEEK, partial=True)
    later_preview = run_digest(app, WEEK, to="slack", now=MIDWEEK + timedelta(hours=5), partial=True)

    # --partial once the week is over is the complete digest itself.
    complete = run_digest(app, WEEK, to="slack", now=MONDAY_AFTER, partial=True)
    again = run_digest(app, WEEK, to="slack", now=MONDAY_AFTER + timedelta(minutes=5))
    job = scheduled_digest(app, now=MONDAY_AFTER + timedelta(minutes=15))

    assert later_preview.post is not None and later_preview.post.status == "posted"  # each preview posts
    assert complete.digest.partial_until is None
    assert complete.post is not None and complete.post.status == "posted"
    assert again.post is not None and again.post.status == "already_sent"
    assert job == {"due": 0}
    headers = [call.args["blocks"][0]["text"]["text"] for call in fake_slack.calls("chat.postMessage")]
    assert headers == [
        "Weekly customer voice · 2026-W47 (partial)",
        "Weekly customer voice · 2026-W47 (partial)",
        "Weekly customer voice · 2026-W47",
    ]


def test_a_crashed_complete_digest_is_not_taken_for_the_preview_in_the_channel(
    app: App, sessions: sessionmaker[Session], fake_slack: FakeSlackServer
) -> None:
    run_digest(app, WEEK, to="slack", now=MIDWEEK, partial=True)
    # The weekly job claimed the week's row and died before Slack answered.
    with sessions.begin() as session:
        session.add(
            Digest(
                week="2026-W47",
                channel=CHANNEL,
                status=DigestStatus.PENDING,
                claimed_at=MONDAY_AFTER,
                attempts=1,
                created_at=MONDAY_AFTER,
            )
        )

    resumed = run_digest(app, WEEK, to="slack", now=MONDAY_AFTER + timedelta(minutes=30))

    assert resumed.post is not None
    assert (resumed.post.status, resumed.post.reconciled) == ("posted", 0)
    keys = [
        call.args["metadata"]["event_payload"]["digest_key"] for call in fake_slack.calls("chat.postMessage")
    ]
    assert keys == ["2026-W47:#cx-digest:partial@2026-11-19T12:00Z", "2026-W47:#cx-digest"]
    assert [m.metadata["event_type"] for m in fake_slack.messages(CHANNEL) if m.metadata] == [
        DIGEST_EVENT_TYPE,
        DIGEST_EVENT_TYPE,
    ]


def test_an_empty_week_writes_its_reports_posts_nothing_and_is_not_retried(
    app: App, sessions: sessionmaker[Session], fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    due = scheduled_digest(app, now=monday)
    later = scheduled_digest(app, now=monday + timedelta(minutes=15))
    by_hand = run_digest(app, EMPTY_WEEK, now=monday + timedelta(hours=1))

    assert due == {"due": 1, "posted": 0, "empty": 1}
    assert later == {"due": 0}
    assert by_hand.digest.is_empty
    assert by_hand.post is not None and by_hand.post.status == "empty"
    assert fake_slack.requests == []
    html = (tmp_path / "digests" / "digest-2026-W48.html").read_text(encoding="utf-8")
    assert 'id="empty-week"' in html
    assert (tmp_path / "digests" / "digest-2026-W48.csv").exists()
    assert _rows(sessions) == [("2026-W48", "final", DigestStatus.SKIPPED)]


def test_post_empty_posts_an_empty_week(
    sessions: sessionmaker[Session], db_url: str, fake_slack: FakeSlackServer, tmp_path: Path
) -> None:
    app = _app(db_url, fake_slack, tmp_path, post_empty=True)
    try:
        due = scheduled_digest(app, now=datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    finally:
        app.engine.dispose()

    assert due == {"due": 1, "posted": 1}
    (message,) = fake_slack.calls("chat.postMessage")
    assert "No mentions or survey answers were stored for this week." in json.dumps(message.args["blocks"])
    assert len(fake_slack.calls("files.completeUploadExternal")) == 1
    assert _rows(sessions) == [("2026-W48", "final", DigestStatus.SENT)]


def test_a_skipped_empty_week_is_posted_once_it_has_something_to_say(
    app: App, sessions: sessionmaker[Session], fake_slack: FakeSlackServer
) -> None:
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert scheduled_digest(app, now=monday) == {"due": 1, "posted": 0, "empty": 1}
    # A mention of that week collected afterwards (a source that caught up late).
    with sessions.begin() as session:
        mention = session.scalars(select(Mention).order_by(Mention.id)).first()
        assert mention is not None
        session.add(
            Mention(
                source_id=mention.source_id,
                external_id="late-import",
                url="https://example.com/late-import",
                text="imported late",
                raw="",
                published_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
                collected_at=monday + timedelta(hours=2),
                content_hash="late-import",
                touchpoint_id=mention.touchpoint_id,
            )
        )

    rerun = run_digest(app, EMPTY_WEEK, to="slack", now=monday + timedelta(hours=3))

    assert rerun.post is not None and rerun.post.status == "posted"
    assert "1 awaiting analysis" in json.dumps(fake_slack.calls("chat.postMessage")[0].args["blocks"])
    assert _rows(sessions) == [("2026-W48", "final", DigestStatus.SENT)]
