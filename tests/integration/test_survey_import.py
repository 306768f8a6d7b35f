"""`vocwatch import-survey` into a real migrated SQLite database: exact rows, idempotent re-import."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import MentionStatus, SurveyMetric, models
from vocwatch.errors import VocwatchError
from vocwatch.stages.surveys import import_survey

SURVEYS = Path(__file__).resolve().parents[1] / "data" / "surveys"
REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(migrated_sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = storage.make_engine(migrated_sqlite_url)
    factory = storage.make_session_factory(engine)
    with factory.begin() as session:
        storage.catalog.sync_touchpoints(
            session,
            [(name, storage.JourneyStage.USE, "") for name in ("delivery", "support", "product", "checkout")],
        )
    yield factory
    engine.dispose()


def scores(sessions: sessionmaker[Session]) -> list[tuple[str, str, int, str | None, bool]]:
    with sessions() as session:
        rows = session.scalars(select(models.SurveyResponse).order_by(models.SurveyResponse.id))
        return [
            (
                r.respondent_id,
                str(r.metric),
                r.score,
                session.get(models.Touchpoint, r.touchpoint_id).name if r.touchpoint_id else None,  # type: ignore[union-attr]
                r.mention_id is not None,
            )
            for r in rows
        ]


def test_import_writes_scores_and_comment_mentions_and_reimport_adds_nothing(
    sessions: sessionmaker[Session],
) -> None:
    report = import_survey(
        sessions, SURVEYS / "wide.csv", source_name="nps-q4", timezone="Europe/Berlin", now=NOW
    )

    assert (report.rows, report.scores_new, report.scores_duplicate, report.mentions_new) == (3, 7, 0, 2)
    assert [str(p) for p in report.problems] == [
        "line 5: nps score 12 is not a whole number from 0 to 10",
        "line 7: no respondent id",
        "line 8: unreadable date 'not a date'",
        "line 9: unknown touchpoint 'moon'",
    ]
    assert scores(sessions) == [
        ("r-001", "nps", 9, "delivery", True),
        ("r-001", "csat", 5, "delivery", True),
        ("r-001", "ces", 2, "delivery", True),
        ("r-002", "nps", 3, "support", True),
        ("r-002", "csat", 2, "support", True),
        ("r-002", "ces", 6, "support", True),
        ("r-004", "nps", 7, None, False),  # no comment: a score without a mention
    ]
    with sessions() as session:
        source = storage.sources.get_source(session, "nps-q4")
        assert source is not None and source.kind == "survey"
        mentions = {m.external_id: m for m in session.scalars(select(models.Mention))}
        assert set(mentions) == {"r-001", "r-002"}
        comment = mentions["r-002"]
        assert comment.text == "Waited 40 minutes on the support line.\nNobody called back."
        assert comment.status == MentionStatus.NEW  # queued for analysis
        assert comment.published_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        assert comment.rating == 0.25  # CSAT 2 on 1..5
        assert comment.touchpoint is not None and comment.touchpoint.name == "support"
        answered = session.scalar(
            select(models.SurveyResponse.answered_at).where(
                models.SurveyResponse.respondent_id == "r-001",
                models.SurveyResponse.metric == SurveyMetric.NPS,
            )
        )
        assert answered == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)

    again = import_survey(
        sessions, SURVEYS / "wide.csv", source_name="nps-q4", timezone="Europe/Berlin", now=NOW
    )

    assert (again.scores_new, again.scores_duplicate, again.mentions_new) == (0, 7, 0)
    assert len(scores(sessions)) == 7


def test_long_json_import(sessions: sessionmaker[Session]) -> None:
    report = import_survey(sessions, SURVEYS / "long.json", source_name="app-survey", now=NOW)

    assert (report.scores_new, report.mentions_new, len(report.problems)) == (3, 1, 2)
    assert scores(sessions) == [
        ("L-1", "nps", 2, "product", True),
        ("L-1", "csat", 1, "product", True),
        ("L-3", "ces", 2, None, False),
    ]


def test_importing_into_a_crawled_source_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        storage.sources.upsert_source(session, name="news", kind="rss", config={}, default_touchpoint=None)

    with pytest.raises(VocwatchError, match="rss source, not a survey"):
        import_survey(sessions, SURVEYS / "wide.csv", source_name="news", now=NOW)


def test_cli_reports_bad_rows_with_their_line(tmp_path: Path) -> None:
    config = tmp_path / "vocwatch.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    command = [sys.executable, "-m", "vocwatch", "--config", str(config), "import-survey"]

    first = subprocess.run(
        [*command, str(SURVEYS / "wide.csv"), "--source", "nps-q4", "--timezone", "Europe/Berlin"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip
    second = subprocess.run(
        [*command, str(SURVEYS / "wide.csv"), "--source", "nps-q4"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip

    assert first.returncode == 0, first.stderr
    assert "3 answer(s) read: 7 new score(s), 0 already imported, 2 new comment(s) to analyze" in first.stdout
    assert "skipped wide.csv line 5: nps score 12 is not a whole number from 0 to 10" in first.stderr
    assert "skipped wide.csv line 9: unknown touchpoint 'moon'" in first.stderr
    assert second.returncode == 0, second.stderr
    assert "0 new score(s), 7 already imported, 0 new comment(s)" in second.stdout
