"""The per-channel ping budget end to end: held-back alerts are stored, counted and reported, never sent.

Real alert path on a migrated database (SQLite and PostgreSQL), dispatcher, fake Slack over HTTP.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifier.budget import BudgetLimits
from notifier.dispatcher import Dispatcher
from storage.enums import AlertStatus
from storage.models import Alert
from tests.support.alerting import Clock, alert, replies, top_level
from vocwatch.stages import dispatch_alerts
from vocwatch.stages.alerting import AlertRules
from vocwatch.testing.fakeslack import FakeSlackServer

RULES = AlertRules(0.7, "#cx-alerts", budget=BudgetLimits(per_hour=2, per_day=100))
STORIES = [
    ("the courier threw my parcel over the fence", "delivery"),
    ("charged twice for one subscription month", "billing"),
    ("app crashes whenever I open my settings", "app_bugs"),
    ("support chat closed on me three times today", "support"),
    ("the blender motor died after a week of use", "quality"),
    ("price went up forty percent without notice", "price"),
]


def story(sessions: sessionmaker[Session], clock: Clock, n: int, **kwargs: object) -> int:
    text, topic = STORIES[n]
    return alert(sessions, clock, RULES, text=text, topics=(topic,), **kwargs)  # type: ignore[arg-type]


def test_over_budget_alerts_are_held_back_and_counted_in_the_next_message(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    for n in range(5):  # five unrelated stories in one hour: two pings, three held back
        clock.advance(minutes=1)
        story(sessions, clock, n)
    dispatch_alerts(dispatcher)
    assert len(top_level(fake_slack)) == 2
    with sessions() as session:
        held = session.scalars(select(Alert).where(Alert.status == AlertStatus.SUPPRESSED)).all()
        assert len(held) == 3
        assert {a.last_error for a in held} == {"budget: 2 pings per hour reached"}
        assert {a.bundled_into_id for a in held} == {None}

    clock.advance(minutes=61)  # the hour has passed: the next story goes out and reports the three
    story(sessions, clock, 5)
    dispatch_alerts(dispatcher)

    posts = top_level(fake_slack)
    assert len(posts) == 3
    note = "+3 lower-severity mentions held back — see queue/digest"
    assert note in posts[-1]["text"]
    assert any(
        e.get("text") == note for b in posts[-1]["blocks"] if b["type"] == "context" for e in b["elements"]
    )
    assert not any(note in p["text"] for p in posts[:2])
    with sessions() as session:
        reporter = session.scalars(select(Alert).where(Alert.slack_ts == fake_slack.messages()[-1].ts)).one()
        held = session.scalars(select(Alert).where(Alert.status == AlertStatus.SUPPRESSED)).all()
        assert {a.bundled_into_id for a in held} == {reporter.id}  # reported once, never sent
        assert {a.slack_ts for a in held} == {None}


def test_replies_to_an_open_incident_use_no_budget(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    story(sessions, clock, 0)
    story(sessions, clock, 1)
    for n in range(5):  # the budget is spent, but related mentions still join the open thread
        clock.advance(minutes=1)
        alert(sessions, clock, RULES, text=f"parcel {n} thrown over a fence", topics=("delivery",))
    dispatch_alerts(dispatcher)
    assert (len(top_level(fake_slack)), len(replies(fake_slack))) == (2, 5)


def test_critical_alerts_go_out_over_budget(
    alert_sessions: sessionmaker[Session],
    alert_clock: Clock,
    alert_dispatcher: Dispatcher,
    fake_slack: FakeSlackServer,
) -> None:
    sessions, clock, dispatcher = alert_sessions, alert_clock, alert_dispatcher
    for n in range(3):
        story(sessions, clock, n)
    story(sessions, clock, 3, followers=200_000)  # a famous author: critical
    dispatch_alerts(dispatcher)
    posts = top_level(fake_slack)
    assert len(posts) == 3
    assert posts[-1]["text"].startswith("Incident (critical): support")
    assert "+1 lower-severity mention held back" in posts[-1]["text"]
