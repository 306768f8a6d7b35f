"""Turn one week's stored numbers (`WeekData`) into the digest (`WeeklyDigest`): pure, deterministic."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from notifier.digest import stats
from notifier.digest.model import (
    DigestOptions,
    MixEffect,
    SentimentCell,
    SurveyRow,
    TopicCount,
    TopicRow,
    TouchpointRow,
    WeekData,
    WeeklyDigest,
)

__all__ = ["ALL_TOUCHPOINTS", "BASELINE_WEEKS", "build_digest", "rank_topics"]

ALL_TOUCHPOINTS = "All touchpoints"
BASELINE_WEEKS = 4  # "vs the 4-week average": the 4 weeks before the digest's week
_METRICS = {"nps": stats.nps, "csat": stats.csat, "ces": stats.ces}


def build_digest(data: WeekData, options: DigestOptions | None = None) -> WeeklyDigest:
    """Compute every number of the digest from `data`; the same data always gives the same digest.

    Touchpoints without mentions still get a row (shares unknown, not 0 %), grouped by journey stage in
    journey order. The "All touchpoints" row also counts mentions that have no touchpoint.
    """
    options = options or DigestOptions()
    by_touchpoint: dict[str | None, list[SentimentCell]] = defaultdict(list)
    for cell in data.sentiment:
        by_touchpoint[cell.touchpoint].append(cell)
    stages: dict[str, list[TouchpointRow]] = {}
    for name, stage in data.touchpoints:
        row = _touchpoint_row(name, stage, by_touchpoint.get(name, []), options)
        stages.setdefault(stage, []).append(row)
    total = _touchpoint_row(ALL_TOUCHPOINTS, "", data.sentiment, options)
    return WeeklyDigest(
        week=data.week,
        start=data.start,
        end=data.end,
        timezone=data.timezone,
        stages=list(stages.items()),
        total=total,
        surveys=_survey_rows(data),
        topics=_topic_rows(data, options),
        incidents=data.incidents[: options.incidents],
        churn_risk=sum(c.churn for c in data.sentiment if c.week_offset == 0),
        churn_risk_prev=sum(c.churn for c in data.sentiment if c.week_offset == 1),
        coverage=sorted(data.coverage, key=lambda c: (c.status == "ok", c.source)),
        held_back=dict(sorted(data.held_back.items())),
        model_versions=dict(sorted(data.model_versions.items(), key=lambda kv: (-kv[1], kv[0]))),
        taxonomy_version=data.taxonomy_version,
        mix=_mix_effect(data.sentiment, options),
        trend=_trend(data),
        options=options,
        partial_until=data.partial_until,
    )


def _counts(cells: Iterable[SentimentCell]) -> Counter[str | None]:
    counts: Counter[str | None] = Counter()
    for cell in cells:
        counts[cell.label] += cell.count
    return counts


def _touchpoint_row(
    name: str, stage: str, cells: list[SentimentCell], options: DigestOptions
) -> TouchpointRow:
    now = _counts(c for c in cells if c.week_offset == 0)
    prev = _counts(c for c in cells if c.week_offset == 1)
    base = _counts(c for c in cells if 1 <= c.week_offset <= BASELINE_WEEKS)
    negative, neutral, positive = now["negative"], now["neutral"], now["positive"]
    analyzed = negative + neutral + positive
    return TouchpointRow(
        touchpoint=name,
        stage=stage,
        mentions=analyzed,
        unanalyzed=now[None],
        negative=negative,
        neutral=neutral,
        positive=positive,
        share_negative=stats.share(negative, analyzed),
        share_neutral=stats.share(neutral, analyzed),
        share_positive=stats.share(positive, analyzed),
        net=stats.net_sentiment(negative, neutral, positive),
        negative_ci=stats.wilson_interval(negative, analyzed),
        share_negative_prev=_share_negative(prev),
        share_negative_4w=_share_negative(base),
        net_prev=stats.net_sentiment(prev["negative"], prev["neutral"], prev["positive"]),
        net_4w=stats.net_sentiment(base["negative"], base["neutral"], base["positive"]),
        small_n=0 < analyzed < options.min_mentions,
        churn_risk=sum(c.churn for c in cells if c.week_offset == 0),
    )


def _share_negative(counts: Counter[str | None]) -> float | None:
    return stats.share(counts["negative"], counts["negative"] + counts["neutral"] + counts["positive"])


def _by_source(cells: Iterable[SentimentCell], week_offset: int) -> dict[str, tuple[int, int]]:
    """source -> (negative, analyzed) in one week."""
    out: dict[str, tuple[int, int]] = {}
    for cell in cells:
        if cell.week_offset != week_offset or cell.label is None:
            continue
        negative, analyzed = out.get(cell.source, (0, 0))
        out[cell.source] = (negative + cell.count * (cell.label == "negative"), analyzed + cell.count)
    return out


def _mix_effect(cells: list[SentimentCell], options: DigestOptions) -> MixEffect:
    now, before = _by_source(cells, 0), _by_source(cells, 1)
    overall = stats.delta(
        stats.share(sum(n for n, _ in now.values()), sum(a for _, a in now.values())),
        stats.share(sum(n for n, _ in before.values()), sum(a for _, a in before.values())),
    )
    shift = stats.mix_shift({k: a for k, (_, a) in before.items()}, {k: a for k, (_, a) in now.items()})
    return MixEffect(
        overall_change=overall,
        within_change=stats.within_source_change(before, now),
        shift=shift,
        # A mix computed from a handful of mentions is noise, not a finding.
        flagged=shift is not None
        and shift >= options.mix_shift_threshold
        and min(sum(a for _, a in now.values()), sum(a for _, a in before.values())) >= options.min_mentions,
    )


def _survey_rows(data: WeekData) -> list[SurveyRow]:
    """One row per (touchpoint, metric) that had answers this week or last; journey order, then metric."""
    scores: dict[tuple[str, str, int], Counter[int]] = defaultdict(Counter)
    for cell in data.surveys:
        if cell.week_offset in (0, 1) and cell.metric in _METRICS:
            touchpoint = cell.touchpoint or ALL_TOUCHPOINTS
            scores[(touchpoint, cell.metric, cell.week_offset)][cell.score] += cell.count
    order = {name: i for i, (name, _) in enumerate(data.touchpoints)}
    keys = sorted(
        {(tp, metric) for tp, metric, _ in scores},
        key=lambda k: (order.get(k[0], len(order)), list(_METRICS).index(k[1])),
    )
    rows = []
    for touchpoint, metric in keys:
        now, prev = (
            scores.get((touchpoint, metric, 0), Counter()),
            scores.get((touchpoint, metric, 1), Counter()),
        )
        compute = _METRICS[metric]
        rows.append(SurveyRow(touchpoint, metric, compute(now), sum(now.values()), compute(prev)))
    return rows


def rank_topics(counts: Iterable[TopicCount], top: int) -> list[str]:
    """The `top` topics with the most negative mentions in the digest's week (ties by name)."""
    now = _topic_counts(counts, 0)
    return sorted((t for t in now if now[t] > 0), key=lambda t: (-now[t], t))[:top]


def _topic_counts(counts: Iterable[TopicCount], week_offset: int) -> Counter[str]:
    totals: Counter[str] = Counter()
    for count in counts:
        if count.week_offset == week_offset:
            totals[count.topic] += count.negative
    return totals


def _topic_rows(data: WeekData, options: DigestOptions) -> list[TopicRow]:
    """The top negative topics of the week with last week's count and their quotes."""
    now, prev = _topic_counts(data.topics, 0), _topic_counts(data.topics, 1)
    return [
        TopicRow(topic, now[topic], prev[topic], data.quotes.get(topic, [])[: options.quotes_per_topic])
        for topic in rank_topics(data.topics, options.top_topics)
    ]


def _trend(data: WeekData) -> list[tuple[str, float | None]]:
    """Overall negative share per week, oldest first, over `data.trend_weeks` (offset 0 = last item)."""
    points = []
    for offset in reversed(range(len(data.trend_weeks))):
        counts = _counts(c for c in data.sentiment if c.week_offset == offset)
        points.append((data.trend_weeks[offset], _share_negative(counts)))
    return points
