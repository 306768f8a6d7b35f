"""Review-queue storage on SQLite and PostgreSQL: storage.queue, .cases, .corrections, .dashboard, and the
Slack thread lookup of storage.alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

import storage
from storage import alerts, cases, corrections, dashboard, queue
from storage.cases import CaseAction
from storage.enums import CaseStatus, CrawlRunStatus, SentimentLabel
from storage.errors import CaseActionError
from storage.models import Alert, Case, Incident, Source
from tests.support.web_seed import NOW, SLACK_CHANNEL_ID, SLACK_TS, Seeded, seed_queue


@pytest.fixture
def seeded_db(db_url: str) -> Iterator[tuple[sessionmaker[Session], Seeded]]:
    engine = storage.make_engine(db_url)
    sessions = storage.make_session_factory(engine)
    yield sessions, seed_queue(sessions)
    engine.dispose()


def test_queue_order_filters_and_paging(seeded_db: tuple[sessionmaker[Session], Seeded]) -> None:
    sessions, seeded = seeded_db
    with sessions.begin() as session:
        page = queue.list_queue(session, queue.QueueFilter(), per_page=3)
        assert page.total == 4 and page.pages == 2
        assert [row.case_id for row in page.rows] == [
            seeded.delivery_case,
            seeded.billing_case,
            seeded.hostile_case,
        ]
        first = page.rows[0]
        assert (first.source, first.touchpoint, first.label, first.topics) == (
            "shop_zh",
            "delivery",
            SentimentLabel.NEGATIVE,
            ("delivery",),
        )
        assert first.confidence == pytest.approx(0.93)

        def ids(**fields: object) -> list[int]:
            return [row.case_id for row in queue.list_queue(session, queue.QueueFilter(**fields)).rows]  # type: ignore[arg-type]

        assert ids(lang="zh") == [seeded.billing_case]
        assert ids(topic="app_bugs", statuses=()) == [seeded.resolved_case, seeded.hostile_case]
        assert ids(statuses=(CaseStatus.RESOLVED,)) == [seeded.resolved_case]
        assert ids(since=(NOW - timedelta(hours=3)).date() + timedelta(days=1)) == []
        # before every case but the 9-day-old one at any time of day (30 h ago may be 2 dates back)
        assert ids(until=(NOW - timedelta(days=3)).date(), statuses=()) == [seeded.resolved_case]
        assert ids(assignee_id=0) == [
            seeded.delivery_case,
            seeded.billing_case,
            seeded.hostile_case,
            seeded.info_case,
        ]
        assert queue.queue_languages(session) == ["en", "zh"]


def test_actions_write_events_and_refuse_bad_input(seeded_db: tuple[sessionmaker[Session], Seeded]) -> None:
    sessions, seeded = seeded_db
    case_id = seeded.billing_case
    with sessions.begin() as session:
        cases.apply_action(
            session,
            case_id,
            CaseAction("assign", assignee_id=seeded.agent_id),
            user_id=seeded.admin_id,
            now=NOW,
        )
        cases.apply_action(
            session, case_id, CaseAction("note", note="  called them  "), user_id=seeded.agent_id, now=NOW
        )
        cases.apply_action(
            session, case_id, CaseAction("dismiss", reason="spam"), user_id=seeded.agent_id, now=NOW
        )
        for bad in (
            CaseAction("dismiss", reason="fixed"),
            CaseAction("note", note="   "),
            CaseAction("correct"),
            CaseAction("correct", topics=("no_such_topic",)),
            CaseAction("assign", assignee_id=9999),
            CaseAction("assign", assignee_id=seeded.viewer_id),
            CaseAction("explode"),
        ):
            with pytest.raises(CaseActionError):
                cases.apply_action(session, case_id, bad, user_id=seeded.agent_id, now=NOW)
    with sessions.begin() as session:
        detail = cases.case_detail(session, case_id)
        assert detail is not None
        assert (
            detail.status == CaseStatus.DISMISSED
            and detail.resolution == "spam"
            and detail.assignee == "agent"
        )
        assert [(event.kind, event.user, event.detail) for event in detail.events] == [
            ("opened", None, {"reason": "negative", "severity": "warning"}),
            ("assign", "admin", {"assignee": "agent"}),
            ("note", "agent", {"note": "called them"}),
            ("dismiss", "agent", {"reason": "spam"}),
        ]
        cases.apply_action(session, case_id, CaseAction("reopen"), user_id=seeded.agent_id, now=NOW)
        case = session.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.OPEN and case.closed_at is None


def test_list_corrections_reads_only_corrected_cases(seeded_db: tuple[sessionmaker[Session], Seeded]) -> None:
    sessions, seeded = seeded_db
    with sessions.begin() as session:
        assert corrections.list_corrections(session) == []
        cases.apply_action(
            session,
            seeded.billing_case,
            CaseAction("correct", label=SentimentLabel.NEUTRAL),
            user_id=seeded.agent_id,
            now=NOW,
        )
        cases.apply_action(
            session,
            seeded.hostile_case,
            CaseAction("correct", topics=()),
            user_id=seeded.agent_id,
            now=NOW + timedelta(minutes=1),
        )
    with sessions.begin() as session:
        rows = corrections.list_corrections(session)
    assert [(row.case_id, row.label, row.topics, row.touchpoint) for row in rows] == [
        (seeded.billing_case, "neutral", None, None),
        (seeded.hostile_case, None, [], None),
    ]
    assert rows[0].text == "扣费两次，客服不回复。" and rows[0].corrected_at == NOW


def test_slack_thread_prefers_the_incident_thread(seeded_db: tuple[sessionmaker[Session], Seeded]) -> None:
    sessions, seeded = seeded_db
    with sessions.begin() as session:
        case = session.get(Case, seeded.delivery_case)
        assert case is not None
        thread = alerts.slack_thread_for_mention(session, case.mention_id)
        assert thread is not None and (thread.channel_id, thread.ts, thread.incident_id) == (
            SLACK_CHANNEL_ID,
            SLACK_TS,
            None,
        )
        billing = session.get(Case, seeded.billing_case)
        assert billing is not None and alerts.slack_thread_for_mention(session, billing.mention_id) is None
        # Once the mention's alert is part of an incident, replies go to the incident's thread.
        alert = session.query(Alert).filter_by(mention_id=case.mention_id).one()
        row = Incident(
            key="delivery",
            channel="#cx-alerts",
            slack_ts="1700000000.000001",
            slack_channel_id="C0INCIDENT",
            opened_at=NOW,
            last_mention_at=NOW,
            mention_count=3,
        )
        session.add(row)
        session.flush()
        alert.incident_id = row.id
        thread = alerts.slack_thread_for_mention(session, case.mention_id)
        assert thread is not None and (thread.channel_id, thread.ts, thread.incident_id) == (
            "C0INCIDENT",
            "1700000000.000001",
            row.id,
        )


def test_dashboard_numbers(seeded_db: tuple[sessionmaker[Session], Seeded]) -> None:
    sessions, _ = seeded_db
    with sessions.begin() as session:
        daily = dashboard.daily_sentiment(session, since=NOW - timedelta(days=28))
        by_touchpoint: dict[str, int] = {}
        for row in daily:
            by_touchpoint[row.touchpoint] = by_touchpoint.get(row.touchpoint, 0) + row.total
        assert by_touchpoint == {"delivery": 2, "support": 3}
        topics = dashboard.top_negative_topics(session, since=NOW - timedelta(days=28))
        assert [(row.topic, row.negative) for row in topics] == [
            ("app_bugs", 2),
            ("delivery", 2),
            ("billing", 1),
        ]
        ages = dict(dashboard.open_cases_by_age(session, now=NOW))
        assert ages == {"< 1 day": 3, "1–3 days": 1, "3–7 days": 0, "> 7 days": 0}
        coverage = {row.source: row.status for row in dashboard.source_coverage(session)}
        assert coverage == {"forum": None, "shop_zh": None}
        forum_id = session.query(Source.id).filter_by(name="forum").scalar()
        storage.runs.finish_run(
            storage.runs.start_run(session, source_id=forum_id, now=NOW),
            status=CrawlRunStatus.OK,
            items_new=4,
            now=NOW,
        )
        [forum] = [row for row in dashboard.source_coverage(session) if row.source == "forum"]
        assert (forum.status, forum.items_new, forum.finished_at) == (CrawlRunStatus.OK, 4, NOW)
