"""The dashboard: per touchpoint (in journey order) volume, negative share and net sentiment over time,
top negative topics, open cases by age, and whether each source is delivering."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from storage import dashboard
from storage.enums import JourneyStage
from storage.users import UserRow
from vocwatch.web.charts import DayPoint, bar_chart, trend_chart
from vocwatch.web.config import WebConfig
from vocwatch.web.rendering import render
from vocwatch.web.security import require_viewer, sessions_of

__all__ = ["router"]

router = APIRouter()

_WINDOWS = (7, 28, 90)
_STAGE_ORDER = {stage: position for position, stage in enumerate(JourneyStage)}


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, user: Annotated[UserRow, Depends(require_viewer)], days: int = 28
) -> HTMLResponse:
    config: WebConfig = request.app.state.config
    days = days if days in _WINDOWS else 28
    now = config.clock()
    since = now - timedelta(days=days)
    with sessions_of(request).begin() as session:
        daily = dashboard.daily_sentiment(session, since=since)
        topics = dashboard.top_negative_topics(session, since=since)
        ages = dashboard.open_cases_by_age(session, now=now)
        coverage = dashboard.source_coverage(session)
    calendar = [since.date() + timedelta(days=offset + 1) for offset in range(days)]
    return render(
        request,
        "dashboard.html",
        user=user,
        days=days,
        windows=_WINDOWS,
        touchpoints=_touchpoint_panels(daily, calendar),
        topics=topics,
        ages_chart=bar_chart("Open cases by age", ages),
        ages=ages,
        coverage=coverage,
    )


def _touchpoint_panels(rows: list[dashboard.DailySentiment], calendar: list[date]) -> list[dict[str, object]]:
    """One panel per touchpoint: totals over the window and a chart with a point for every day."""
    by_touchpoint: dict[tuple[JourneyStage, str], dict[date, dashboard.DailySentiment]] = defaultdict(dict)
    for row in rows:
        by_touchpoint[(row.stage, row.touchpoint)][row.day] = row
    panels = []
    for (stage, name), per_day in sorted(
        by_touchpoint.items(), key=lambda item: (_STAGE_ORDER[item[0][0]], item[0][1])
    ):
        points = [_day_point(day, per_day.get(day)) for day in calendar]
        total = sum(row.total for row in per_day.values())
        negative = sum(row.negative for row in per_day.values())
        positive = sum(row.positive for row in per_day.values())
        panels.append(
            {
                "stage": stage.value.replace("_", " "),
                "name": name,
                "volume": total,
                "negative_share": negative / total if total else None,
                "net_sentiment": (positive - negative) / total if total else None,
                "chart": trend_chart(f"{name}: volume and sentiment per day", points),
            }
        )
    return panels


def _day_point(day: date, row: dashboard.DailySentiment | None) -> DayPoint:
    """A day without analyzed mentions is a gap in the lines and an empty bar, not a zero share."""
    if row is None:
        return DayPoint(day, 0, None, None)
    return DayPoint(day, row.total, row.negative_share, row.net_sentiment)
