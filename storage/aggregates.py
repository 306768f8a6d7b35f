"""Per-touchpoint numbers for reports (the demo's closing table, later the weekly digest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.enums import AlertStatus, JourneyStage, SentimentLabel
from storage.models import Alert, Analysis, Incident, Mention, Touchpoint

__all__ = ["TouchpointSummary", "touchpoint_summary"]

_STAGE_ORDER = {stage: position for position, stage in enumerate(JourneyStage)}


@dataclass(frozen=True)
class TouchpointSummary:
    """Counts for one touchpoint; the sentiment counts cover analyzed mentions only."""

    touchpoint: str
    stage: JourneyStage
    mentions: int
    negative: int
    neutral: int
    positive: int
    alerts_sent: int

    @property
    def analyzed(self) -> int:
        return self.negative + self.neutral + self.positive

    @property
    def share_negative(self) -> float | None:
        """Negative share of the analyzed mentions; None when nothing was analyzed (not 0%: unknown)."""
        return self.negative / self.analyzed if self.analyzed else None


def touchpoint_summary(session: Session, *, since: datetime | None = None) -> list[TouchpointSummary]:
    """One row per touchpoint (including silent ones), in journey order.

    A mention counts with the label of its latest analysis, so re-analysis with a new model does not
    count it twice. Alerts count toward the touchpoint of their mention, or of their incident.
    Mentions without a touchpoint are not in any row. `since` limits mentions (by `collected_at`) and
    alerts (by `sent_at`).
    """
    latest = select(func.max(Analysis.id).label("analysis_id")).group_by(Analysis.mention_id).subquery()
    label_of_latest = (
        select(Analysis.mention_id, Analysis.label)
        .join(latest, Analysis.id == latest.c.analysis_id)
        .subquery()
    )
    mention_counts = (
        select(
            Mention.touchpoint_id,
            func.count().label("mentions"),
            *(
                func.count(case((label_of_latest.c.label == label, 1))).label(label.value)
                for label in SentimentLabel
            ),
        )
        .outerjoin(label_of_latest, label_of_latest.c.mention_id == Mention.id)
        .where(Mention.touchpoint_id.is_not(None))
        .group_by(Mention.touchpoint_id)
    )
    if since is not None:
        mention_counts = mention_counts.where(Mention.collected_at >= since)
    mentions_sq = mention_counts.subquery()

    alert_touchpoint = func.coalesce(Mention.touchpoint_id, Incident.touchpoint_id)
    alert_counts = (
        select(alert_touchpoint.label("touchpoint_id"), func.count().label("alerts_sent"))
        .select_from(Alert)
        .outerjoin(Mention, Alert.mention_id == Mention.id)
        .outerjoin(Incident, Alert.incident_id == Incident.id)
        .where(Alert.status == AlertStatus.SENT)
        .group_by(alert_touchpoint)
    )
    if since is not None:
        alert_counts = alert_counts.where(Alert.sent_at >= since)
    alerts_sq = alert_counts.subquery()

    rows = session.execute(
        select(
            Touchpoint.name,
            Touchpoint.stage,
            func.coalesce(mentions_sq.c.mentions, 0),
            func.coalesce(mentions_sq.c.negative, 0),
            func.coalesce(mentions_sq.c.neutral, 0),
            func.coalesce(mentions_sq.c.positive, 0),
            func.coalesce(alerts_sq.c.alerts_sent, 0),
        )
        .outerjoin(mentions_sq, mentions_sq.c.touchpoint_id == Touchpoint.id)
        .outerjoin(alerts_sq, alerts_sq.c.touchpoint_id == Touchpoint.id)
    )
    summaries = [
        TouchpointSummary(
            touchpoint=name,
            stage=stage,
            mentions=mentions,
            negative=negative,
            neutral=neutral,
            positive=positive,
            alerts_sent=alerts_sent,
        )
        for name, stage, mentions, negative, neutral, positive, alerts_sent in rows
    ]
    return sorted(summaries, key=lambda s: (_STAGE_ORDER[s.stage], s.touchpoint))
