from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import cases, mentions, runs, users
from storage.enums import CaseEventKind, CaseStatus, CrawlRunStatus, Severity, UserRole
from storage.errors import CaseActionError
from storage.models import Case, CaseEvent, CrawlRun
from tests.support.storage_rows import T0, make_source, new_mention


def test_run_is_opened_running_and_closed_with_counters(db_session: Session) -> None:
    source_id = make_source(db_session)
    run = runs.start_run(db_session, source_id=source_id, now=T0)
    assert (run.id is not None, run.status, run.items_new) == (True, CrawlRunStatus.RUNNING, 0)

    runs.finish_run(
        run,
        now=T0 + timedelta(seconds=12),
        status=CrawlRunStatus.OK,
        items_seen=10,
        items_new=4,
        items_duplicate=6,
        pages=2,
        http_status_counts={"200": 2, "429": 1},
        stop_reason="seen_before",
    )
    db_session.flush()
    db_session.expire_all()

    stored = db_session.get_one(CrawlRun, run.id)
    assert (stored.status, stored.items_seen, stored.items_new, stored.items_duplicate) == (
        CrawlRunStatus.OK,
        10,
        4,
        6,
    )
    assert (stored.items_failed, stored.pages, stored.http_status_counts) == (0, 2, {"200": 2, "429": 1})
    assert (stored.finished_at, stored.stop_reason, stored.error) == (
        T0 + timedelta(seconds=12),
        "seen_before",
        None,
    )


def test_list_runs_newest_first(db_session: Session) -> None:
    source_id, other = make_source(db_session, "a"), make_source(db_session, "b")
    started = [
        runs.start_run(db_session, source_id=source_id, now=T0 + timedelta(hours=h)).id for h in range(3)
    ]
    runs.start_run(db_session, source_id=other, now=T0)

    assert [r.id for r in runs.list_runs(db_session, source_id, limit=2)] == started[::-1][:2]


def test_a_mention_gets_one_case(db_session: Session) -> None:
    (mention_id,) = mentions.insert_new_mentions(
        db_session, [new_mention(make_source(db_session), "x")]
    ).new_ids

    case_id = cases.open_case(
        db_session, mention_id=mention_id, reason="negative", severity=Severity.WARNING, now=T0
    )
    again = cases.open_case(
        db_session, mention_id=mention_id, reason="negative", severity=Severity.WARNING, now=T0
    )
    db_session.flush()

    assert case_id is not None
    assert again is None
    case = db_session.get_one(Case, case_id)
    assert (case.status, case.severity, case.created_at) == (CaseStatus.OPEN, Severity.WARNING, T0)
    assert [(e.kind, e.detail) for e in case.events] == [
        (CaseEventKind.OPENED, {"reason": "negative", "severity": "warning"})
    ]
    assert db_session.scalar(select(func.count()).select_from(CaseEvent)) == 1


def test_a_closed_case_keeps_its_outcome_until_it_is_reopened(db_session: Session) -> None:
    (mention_id,) = mentions.insert_new_mentions(
        db_session, [new_mention(make_source(db_session), "x")]
    ).new_ids
    case_id = cases.open_case(
        db_session, mention_id=mention_id, reason="negative", severity=Severity.WARNING, now=T0
    )
    agent = users.create_user(db_session, username="ana", password_hash="x", role=UserRole.AGENT, now=T0)
    assert case_id is not None

    def act(kind: CaseEventKind, **fields: object) -> None:
        cases.apply_action(
            db_session, case_id, cases.CaseAction(kind=kind, **fields), user_id=agent.id, now=T0
        )  # type: ignore[arg-type]

    act(CaseEventKind.RESOLVE, reason="fixed")
    for kind, fields in (
        (CaseEventKind.ACKNOWLEDGE, {}),
        (CaseEventKind.RESOLVE, {"reason": "no_action_needed"}),
    ):
        with pytest.raises(CaseActionError, match="reopen it first"):
            act(kind, **fields)
    act(CaseEventKind.NOTE, note="called the customer back")  # still possible on a closed case
    case = db_session.get_one(Case, case_id)
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "fixed")  # a crafted POST changed nothing

    act(CaseEventKind.REOPEN)
    act(CaseEventKind.ACKNOWLEDGE)
    assert db_session.get_one(Case, case_id).status == CaseStatus.ACKNOWLEDGED
    with pytest.raises(CaseActionError, match="nothing to reopen"):
        act(CaseEventKind.REOPEN)
    kinds = db_session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    )
    assert list(kinds) == ["opened", "resolve", "note", "reopen", "acknowledge"]
