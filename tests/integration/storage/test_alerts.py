from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storage import alerts, make_engine, make_session_factory
from storage.enums import AlertKind, AlertStatus
from storage.models import Alert
from tests.support.storage_rows import T0

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "Late &amp; broken"}}]


def enqueue(session: Session, key: str, *, now=T0) -> int | None:  # type: ignore[no-untyped-def]
    return alerts.enqueue_alert(
        session,
        kind=AlertKind.MENTION,
        dedup_key=key,
        channel="#cx",
        text="Late & broken",
        blocks=BLOCKS,
        now=now,
    )


def test_same_dedup_key_is_queued_once(db_session: Session) -> None:
    first = enqueue(db_session, "mention:1")
    again = enqueue(db_session, "mention:1", now=T0 + timedelta(hours=1))

    assert first is not None
    assert again is None
    assert db_session.scalar(select(func.count()).select_from(Alert)) == 1
    alert = db_session.get_one(Alert, first)
    assert (alert.status, alert.attempts, alert.next_attempt_at) == (AlertStatus.PENDING, 0, T0)
    assert alert.blocks == BLOCKS


def test_claim_due_respects_next_attempt_at(db_session: Session) -> None:
    due = enqueue(db_session, "mention:1")
    later = enqueue(db_session, "mention:2", now=T0 + timedelta(minutes=10))

    assert [a.id for a in alerts.claim_due(db_session, now=T0, limit=10)] == [due]
    assert [a.id for a in alerts.claim_due(db_session, now=T0 + timedelta(minutes=10), limit=10)] == [
        due,
        later,
    ]


def test_retry_waits_until_its_time(db_session: Session) -> None:
    alert_id = enqueue(db_session, "mention:1")
    (alert,) = alerts.claim_due(db_session, now=T0, limit=10)
    alerts.mark_sending(alert, now=T0)
    alerts.mark_retry(alert, error="ratelimited", next_attempt_at=T0 + timedelta(seconds=30))
    db_session.flush()

    assert alerts.claim_due(db_session, now=T0 + timedelta(seconds=29), limit=10) == []
    assert [a.id for a in alerts.claim_due(db_session, now=T0 + timedelta(seconds=30), limit=10)] == [
        alert_id
    ]
    assert (alert.status, alert.attempts, alert.last_error) == (AlertStatus.PENDING, 1, "ratelimited")


def test_only_pending_alerts_are_due(db_session: Session) -> None:
    sent, failed, suppressed, pending = (enqueue(db_session, f"mention:{i}") for i in range(4))
    alerts.mark_sent(db_session.get_one(Alert, sent), ts="1700000000.000100", channel_id="C1", now=T0)
    alerts.mark_failed(db_session.get_one(Alert, failed), error="channel_not_found")
    alerts.mark_suppressed(db_session.get_one(Alert, suppressed), reason="budget")
    db_session.flush()

    assert [a.id for a in alerts.claim_due(db_session, now=T0, limit=10)] == [pending]


def test_sent_alert_remembers_its_slack_address(db_session: Session) -> None:
    alert = db_session.get_one(Alert, enqueue(db_session, "mention:1"))
    alerts.mark_sending(alert, now=T0)
    alerts.mark_sent(alert, ts="1700000000.000100", channel_id="C1", now=T0 + timedelta(seconds=1))
    db_session.flush()
    db_session.expire_all()

    alert = db_session.get_one(Alert, alert.id)
    assert (alert.status, alert.slack_ts, alert.slack_channel_id) == (
        AlertStatus.SENT,
        "1700000000.000100",
        "C1",
    )
    assert alert.sent_at == T0 + timedelta(seconds=1)


def test_stuck_sending_alerts_are_listed(db_session: Session) -> None:
    old, fresh, _pending = (db_session.get_one(Alert, enqueue(db_session, f"mention:{i}")) for i in range(3))
    alerts.mark_sending(old, now=T0)
    alerts.mark_sending(fresh, now=T0 + timedelta(minutes=5))
    db_session.flush()

    assert [a.id for a in alerts.list_stuck_sending(db_session)] == [old.id, fresh.id]
    assert [
        a.id for a in alerts.list_stuck_sending(db_session, claimed_before=T0 + timedelta(minutes=1))
    ] == [old.id]


def test_two_dispatchers_claim_different_alerts(migrated_postgres_url: str) -> None:
    engine = make_engine(migrated_postgres_url)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as session:
            ids = [enqueue(session, f"mention:{i}") for i in range(3)]

        with sessions.begin() as first, sessions.begin() as second:
            first_batch = alerts.claim_due(first, now=T0, limit=1)
            second.execute(text("SET LOCAL lock_timeout = '5s'"))
            second_batch = alerts.claim_due(second, now=T0, limit=10)

            assert [a.id for a in first_batch] == ids[:1]
            assert [a.id for a in second_batch] == ids[1:]
    finally:
        engine.dispose()
