"""Incident grouping: pings per 1,000 negative mentions, and how well incidents match the real stories.

Part 1, pings:
Runs the real alert path (`vocwatch.stages.alerting.alert_mention`) on a temporary migrated SQLite database:
1,000 negative mentions arriving over 6 hours, in random order —

- 600 about a delivery pile-on (topic `delivery`, touchpoint `delivery`), 30 different wordings;
- 200 comments on one news story (same URL up to query strings), topic `privacy`;
- 150 app-crash complaints (topic `app_bugs`);
- 50 unrelated one-offs (50 distinct topics and texts, no touchpoint).

Prints top-level messages (pings), thread replies and held-back alerts, with the budget off and with
the default budget (10 pings/hour, 50/day).

Part 2, stories (`--stories`, needs the default model): the labelled day of `incident_stories.py` (541
negative mentions from nine stories in en/de/es/zh over 24 h plus 46 one-offs) goes through the real
model (topics), the topic -> touchpoint rules of the default taxonomy (source default `support`) and the
real alert path with the budget off; the incidents are scored against the true stories with B-cubed
precision, recall and F1 over the mentions the model reads as negative (the others never reach grouping).

    python bench/bench_incident_grouping.py
    python bench/bench_incident_grouping.py --stories
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import platformdirs
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import storage
from notifier.budget import BudgetLimits
from storage.enums import AlertAction, AlertStatus, JourneyStage, MentionStatus
from storage.models import Alert, Incident, Mention, Source, Touchpoint
from vocwatch.stages.alerting import AlertRules, MentionFacts, alert_mention
from vocwatch.topics import DEFAULT_TOPIC_TOUCHPOINTS

sys.path.insert(0, str(Path(__file__).parent))
from incident_stories import b_cubed, labelled_day  # a sibling script, not a package

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


@contextmanager
def bench_database() -> Iterator[sessionmaker[Session]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = storage.make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        storage.upgrade(engine)
        yield storage.make_session_factory(engine)
        engine.dispose()


def run(budget: BudgetLimits) -> dict[str, int]:
    rng = random.Random(6)
    with bench_database() as sessions:
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
        return result


def run_stories(seed: int) -> None:
    """Part 2 of the module docstring."""
    import sentiment

    models_dir = Path(platformdirs.user_data_dir("vocwatch")) / "models"
    analyzer = sentiment.load_analyzer(sentiment.prepare_default_model(models_dir))
    day = labelled_day(T0, seed=seed)
    started = time.perf_counter()
    results = analyzer.analyze([m.text for m in day])
    analysis_s = time.perf_counter() - started
    touchpoints = sorted({*DEFAULT_TOPIC_TOUCHPOINTS.values(), "support"})
    with bench_database() as sessions:
        rules = AlertRules(0.7, "#cx-alerts", budget=BudgetLimits(per_hour=0, per_day=0))
        with sessions.begin() as session:
            source = Source(name="bench", kind="rss")
            rows = {name: Touchpoint(name=name, stage=JourneyStage.USE) for name in touchpoints}
            session.add_all([source, *rows.values()])
            session.flush()
            for n, (item, result) in enumerate(zip(day, results, strict=True)):
                topics = tuple(t.topic for t in result.topics)
                ruled = next(
                    (DEFAULT_TOPIC_TOUCHPOINTS[t] for t in topics if t in DEFAULT_TOPIC_TOUCHPOINTS), None
                )
                mention = Mention(
                    source_id=source.id,
                    external_id=str(n),
                    url=item.url,
                    text=item.text,
                    published_at=item.at,
                    collected_at=item.at,
                    content_hash=f"{n:064d}",
                    touchpoint_id=rows[ruled or "support"].id,
                    status=MentionStatus.ANALYZED,
                )
                session.add(mention)
                session.flush()
                facts = MentionFacts(
                    label=result.label.value,
                    p_negative=result.p_negative,
                    confidence=result.confidence,
                    topics=topics,
                    lang=result.lang,
                    embedding=result.embedding,
                )
                alert_mention(session, mention, facts, rules, quote=item.text, now=item.at)
        with sessions() as session:
            rows = session.execute(
                select(Mention.external_id, Alert.incident_id).join(Alert, Alert.mention_id == Mention.id)
            )
            grouped = {int(external_id): incident for external_id, incident in rows}
    negatives = [n for n, r in enumerate(results) if r.label == sentiment.SentimentLabel.NEGATIVE]
    alerted = [n for n in negatives if n in grouped]
    truth = [day[n].story for n in alerted]
    predicted = [f"incident-{grouped[n]}" for n in alerted]
    precision, recall, f1 = b_cubed(truth, predicted)
    one_offs = sum(1 for m in day if m.story.startswith("noise"))
    stories = len({m.story for m in day}) - one_offs
    print(
        f"stories: {len(day)} mentions ({stories} stories + {one_offs} one-offs, "
        f"analyzed in {analysis_s:.0f} s), {len(negatives)} read as negative, {len(alerted)} alerted"
    )
    print(f"  {len(set(predicted))} incidents for {len(set(truth))} true stories among them")
    print(f"  B-cubed precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", action="store_true", help="part 2: grouping vs true stories (model)")
    parser.add_argument("--seed", type=int, default=18, help="which labelled day (thresholds: seed 5)")
    args = parser.parse_args()
    if args.stories:
        run_stories(args.seed)
        return
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
