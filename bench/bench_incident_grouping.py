"""Alerts (Slack pings) per 1,000 negative mentions after incident grouping, on a synthetic burst.

Runs the real alert path (`vocwatch.stages.alerting.alert_mention`) on a temporary migrated SQLite database:
1,000 negative mentions arriving over 6 hours, in random order —

- 600 about a delivery pile-on (topic `delivery`, touchpoint `delivery`), 30 different wordings;
- 200 comments on one news story (same URL up to query strings), topic `privacy`;
- 150 app-crash complaints (topic `app_bugs`);
- 50 unrelated one-offs (50 distinct topics and texts, no touchpoint).

Prints top-level messages (pings), thread replies and held-back alerts, with the budget off and with
the default budget (10 pings/hour, 50/day).

    python bench/bench_incident_grouping.py
"""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

import storage
from notifier.budget import BudgetLimits
from storage.enums import AlertAction, AlertStatus, JourneyStage, MentionStatus
from storage.models import Alert, Incident, Mention, Source, Touchpoint
from vocwatch.stages.alerting import AlertRules, MentionFacts, alert_mention

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def synthetic(rng: random.Random) -> list[tuple[str, str, tuple[str, ...], bool]]:
    """(text, url, topics, has_touchpoint) for each mention."""
    out: list[tuple[str, str, tuple[str, ...], bool]] = []
    for n in range(600):
        out.append(
            (
                f"parcel {n % 30} late again, courier useless ({n})",
                f"https://x.example/p/{n}",
                ("delivery",),
                True,
            )
        )
    for n in range(200):
        out.append(
            (
                f"this leak is outrageous, comment {n}",
                f"https://news.example/globex-leak?c={n}",
                ("privacy",),
                False,
            )
        )
    for n in range(150):
        out.append((f"app crashes on start, build {n}", f"https://apps.example/r/{n}", ("app_bugs",), False))
    for n in range(50):
        out.append(
            (
                f"unrelated complaint number {n} about thing {n * 7}",
                f"https://y.example/{n}",
                (f"misc_{n}",),
                False,
            )
        )
    rng.shuffle(out)
    return out


def run(budget: BudgetLimits) -> dict[str, int]:
    rng = random.Random(6)
    with tempfile.TemporaryDirectory() as tmp:
        engine = storage.make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        storage.upgrade(engine)
        sessions = storage.make_session_factory(engine)
        rules = AlertRules(0.7, "#cx-alerts", budget=budget)
        with sessions.begin() as session:
            source = Source(name="bench", kind="rss")
            touchpoint = Touchpoint(name="delivery", stage=JourneyStage.RECEIVE)
            session.add_all([source, touchpoint])
            session.flush()
            items = synthetic(rng)
            times = sorted(T0 + timedelta(seconds=rng.uniform(0, 6 * 3600)) for _ in items)
            for n, ((text, url, topics, has_tp), at) in enumerate(zip(items, times, strict=True)):
                mention = Mention(
                    source_id=source.id,
                    external_id=str(n),
                    url=url,
                    text=text,
                    collected_at=at,
                    content_hash=f"{n:064d}",
                    touchpoint_id=touchpoint.id if has_tp else None,
                    status=MentionStatus.ANALYZED,
                )
                session.add(mention)
                session.flush()
                facts = MentionFacts(label="negative", p_negative=0.9, confidence=0.9, topics=topics)
                alert_mention(session, mention, facts, rules, quote=text, now=at)
        with sessions() as session:

            def count(*where: object) -> int:
                return int(session.scalar(select(func.count(Alert.id)).where(*where)) or 0)  # type: ignore[arg-type]

            result = {
                "pings": count(Alert.action == AlertAction.POST, Alert.status != AlertStatus.SUPPRESSED),
                "replies": count(Alert.action == AlertAction.REPLY),
                "held_back": count(Alert.status == AlertStatus.SUPPRESSED),
            }
            result["incidents"] = int(session.scalar(select(func.count(Incident.id))) or 0)
        engine.dispose()
        return result


def main() -> None:
    for label, budget in (
        ("grouping only", BudgetLimits(per_hour=0, per_day=0)),
        ("grouping + default budget", BudgetLimits()),
    ):
        r = run(budget)
        print(
            f"{label}: {r['pings']} pings per 1,000 negative mentions "
            f"({r['incidents']} incidents, {r['replies']} thread replies, {r['held_back']} held back)"
        )


if __name__ == "__main__":
    main()
