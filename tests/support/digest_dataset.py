"""A small hand-built database for the digest tests, and the figures it must give, computed by hand.

The week is 2026-W47 (UTC: Mon 16 – Sun 22 Nov 2026).

Data (touchpoints delivery/receive, support/get_help, checkout/buy; sources shop → delivery,
forum → support):

- W47 delivery (shop): 6 negative, 3 neutral, 1 positive = 10 analyzed. The positive one was first
  analyzed negative by model m1, then positive by m2 (only the latest counts). A cross-posted copy
  (`duplicate_of_id`) of a negative one is not counted. 2 of them have churn risk 0.8.
  → share negative 6/10 = 0.6, net (1 − 6)/10 = −0.5.
- W47 support (forum): 1 negative, 2 neutral, 1 positive = 4 analyzed, plus 1 not analyzed yet.
  → share 0.25, net 0, small sample (min_mentions = 5).
- W46 delivery: 2 negative, 2 positive (share 0.5, net 0). W45: 2 positive. W44: nothing.
  W43: 1 negative, 1 neutral. W42: 1 negative (outside the 4-week baseline, inside the trend).
  → 4-week pooled share = (2 + 0 + 1) / (4 + 2 + 2) = 3/8 = 0.375; net_4w = (4 − 3)/8 = 0.125.
  → Δ vs last week = 0.6 − 0.5 = +0.1; Δ vs 4-week = 0.6 − 0.375 = +0.225.
- Wilson 95 % for 6/10: centre (0.6 + 1.96²/20)/(1 + 1.96²/10) = 0.79208/1.38416 = 0.57225,
  half-width 1.96·√(0.024 + 1.96²/400)/1.38416 = 0.25958 → (0.3127, 0.8318).
- Overall W47: 7 negative of 14 = 0.5; W46: 2 of 4 = 0.5 → overall change 0. Within sources: only
  shop is heard in both weeks: 0.6 − 0.5 = +0.1. Mix shift: ½(|10/14 − 1| + |4/14 − 0|) = 4/14.
- Surveys, delivery: NPS W47 answers 10, 9, 8, 6, 3 → (2 − 2)/5 = 0; W46 10, 10, 7, 2 → (2 − 1)/4 =
  +25 → change −25. CSAT W47 5, 4, 2 → 2/3 = 66.7 %. CES W47 2, 3, 7 → 4.0.
- Topics: "late delivery" 4 negative in W47 (3 by aspect label, 1 by the mention's label; a positive
  aspect is not counted), 1 in W46 → +3; quotes ordered by p_negative.
- One incident active in W47 (4 mentions), one from W40 (not shown). 2 alerts held back in W47
  (1 in W46, not counted). Crawl runs: shop every week with 10 new items (ok); forum never (dark).
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

import storage
from notifier.digest import IsoWeek
from storage import catalog, models, sources
from storage.enums import (
    AlertKind,
    AlertStatus,
    CrawlRunStatus,
    IncidentStatus,
    JourneyStage,
    MentionStatus,
    SentimentLabel,
    SurveyMetric,
)
from storage.surveys import NewSurveyAnswer, insert_survey_answers
from vocwatch.settings import DigestSettings

WEEK = IsoWeek(2026, 47)
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
SETTINGS = DigestSettings(min_mentions=5, quotes_per_topic=3)
HOSTILE = "<!channel> late again & <script>window.pwned = 1</script> <@U123>"

_ids = itertools.count(1)


def _at(weeks_back: int, hours: int = 12) -> datetime:
    return MONDAY - timedelta(weeks=weeks_back) + timedelta(hours=hours)


class Builder:
    """Adds rows the way the pipeline stores them; every mention gets the analyses it is given."""

    def __init__(self, session: Session) -> None:
        self.session = session
        catalog.sync_touchpoints(
            session,
            [
                ("checkout", JourneyStage.BUY, ""),
                ("delivery", JourneyStage.RECEIVE, ""),
                ("support", JourneyStage.GET_HELP, ""),
            ],
        )
        catalog.sync_topics(
            session, [("late delivery", "parcels late", "delivery"), ("rude support", "", None)]
        )
        self.tp = {name: catalog.get_touchpoint_id(session, name) for name in ("delivery", "support")}
        self.src = {
            name: sources.upsert_source(
                session, name=name, kind="rss", config={}, default_touchpoint=touchpoint
            ).id
            for name, touchpoint in (("shop", "delivery"), ("forum", "support"))
        }
        self.topic = {t.name: t.id for t in session.query(models.Topic)}

    def mention(
        self,
        source: str,
        weeks_back: int,
        *labels: str,
        text: str | None = None,
        p_negative: float = 0.9,
        churn: float = 0.1,
        duplicate_of: int | None = None,
        published: bool = True,
    ) -> int:
        number = next(_ids)
        when = _at(weeks_back, hours=number % 150)
        row = models.Mention(
            source_id=self.src[source],
            external_id=f"m{number}",
            url=f"https://example.com/m{number}",
            text=text or f"mention {number}",
            raw="",
            published_at=when if published else None,
            collected_at=when,
            content_hash=hashlib.sha256(str(number).encode()).hexdigest(),
            duplicate_of_id=duplicate_of,
            touchpoint_id=self.tp["delivery" if source == "shop" else "support"],
            status=MentionStatus.ANALYZED if labels else MentionStatus.NEW,
        )
        self.session.add(row)
        self.session.flush()
        for version, label in enumerate(labels, start=1):
            self.session.add(
                models.Analysis(
                    mention_id=row.id,
                    model_version=f"m{version}",
                    label=SentimentLabel(label),
                    p_negative=p_negative if label == "negative" else 0.05,
                    p_neutral=0.05,
                    p_positive=0.05,
                    confidence=0.9,
                    churn_risk=churn,
                    taxonomy_version="tax-a",
                )
            )
        self.session.flush()
        return row.id

    def tag(self, mention_id: int, topic: str, label: str | None) -> None:
        self.session.add(
            models.MentionTopic(
                mention_id=mention_id,
                topic_id=self.topic[topic],
                score=0.8,
                label=None if label is None else SentimentLabel(label),
            )
        )

    def survey(self, weeks_back: int, metric: SurveyMetric, *scores: int) -> None:
        insert_survey_answers(
            self.session,
            source_id=self.src["forum"],
            answers=[
                NewSurveyAnswer(
                    respondent_id=f"r{next(_ids)}",
                    scores={metric: score},
                    comment="",
                    answered_at=_at(weeks_back),
                    touchpoint_id=self.tp["delivery"],
                )
                for score in scores
            ],
            collected_at=_at(weeks_back),
        )


def build_dataset(session: Session) -> None:
    b = Builder(session)
    # W47 delivery: 6 negative (4 about late delivery), 3 neutral, 1 positive (re-analyzed).
    first = b.mention("shop", 0, "negative", text=HOSTILE, p_negative=0.99, churn=0.8)
    second = b.mention("shop", 0, "negative", text="Parcel two weeks late", p_negative=0.95, churn=0.8)
    third = b.mention("shop", 0, "negative", text="Courier never came", p_negative=0.90)
    fourth = b.mention("shop", 0, "negative", text="Late and broken box", p_negative=0.80)
    b.tag(first, "late delivery", "negative")
    b.tag(second, "late delivery", "negative")
    b.tag(third, "late delivery", "negative")
    b.tag(fourth, "late delivery", None)
    b.mention("shop", 0, "negative")
    b.mention("shop", 0, "negative", published=False)  # no publication time: counted by arrival
    b.mention("shop", 0, "negative", duplicate_of=first)  # a cross-post: not counted again
    for _ in range(3):
        b.mention("shop", 0, "neutral")
    happy = b.mention("shop", 0, "negative", "positive")
    b.tag(happy, "late delivery", "positive")
    # W47 support: 1 negative, 2 neutral, 1 positive, 1 not analyzed.
    for label in ("negative", "neutral", "neutral", "positive"):
        b.mention("forum", 0, label)
    b.mention("forum", 0)
    # Earlier weeks, delivery.
    for label in ("negative", "positive", "positive"):
        b.mention("shop", 1, label)
    b.tag(b.mention("shop", 1, "negative"), "late delivery", "negative")
    b.mention("shop", 2, "positive")
    b.mention("shop", 2, "positive")
    b.mention("shop", 4, "negative")
    b.mention("shop", 4, "neutral")
    b.mention("shop", 5, "negative")
    # Surveys.
    b.survey(0, SurveyMetric.NPS, 10, 9, 8, 6, 3)
    b.survey(1, SurveyMetric.NPS, 10, 10, 7, 2)
    b.survey(0, SurveyMetric.CSAT, 5, 4, 2)
    b.survey(0, SurveyMetric.CES, 2, 3, 7)
    # Incidents.
    for opened, count in ((_at(0), 4), (_at(7), 9)):
        session.add(
            models.Incident(
                key="topic:late delivery",
                status=IncidentStatus.OPEN,
                topic_id=b.topic["late delivery"],
                channel="#cx-alerts",
                mention_count=count,
                opened_at=opened,
                last_mention_at=opened + timedelta(hours=5),
                state="growing",
            )
        )
    # Alerts held back by the budget.
    for number, weeks_back in enumerate((0, 0, 1)):
        storage.alerts.enqueue_alert(
            session,
            kind=AlertKind.MENTION,
            dedup_key=f"held:{number}",
            channel="#cx-alerts",
            text="held",
            blocks=[],
            status=AlertStatus.SUPPRESSED,
            now=_at(weeks_back),
        )
    # Crawl runs: shop once a week with 10 new items.
    for weeks_back in range(6):
        run = storage.runs.start_run(session, source_id=b.src["shop"], now=_at(weeks_back, hours=30))
        storage.runs.finish_run(run, now=_at(weeks_back, hours=31), status=CrawlRunStatus.OK, items_new=10)
    session.flush()
