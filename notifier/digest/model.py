"""The digest's input (plain values read from storage) and its output (the numbers every renderer shows).

Week offsets count back from the digest's week: 0 is the week itself, 1 the week before, and so on.
Renderers (Block Kit, HTML, CSV, chart) only format a `WeeklyDigest`; every number is computed once, in
`notifier.digest.build`, so Slack, the HTML file and the CSV can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from notifier.digest.stats import delta

__all__ = [
    "CoverageLine",
    "DigestOptions",
    "IncidentLine",
    "MixEffect",
    "Quote",
    "SentimentCell",
    "SurveyCell",
    "SurveyRow",
    "TopicCount",
    "TopicRow",
    "TouchpointRow",
    "WeekData",
    "WeeklyDigest",
]


# -- input ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentimentCell:
    """Mentions of one week, touchpoint, source and label (None: not analyzed yet); `churn` = how many
    of them carry a churn risk at or above the threshold."""

    week_offset: int
    touchpoint: str | None
    source: str
    label: str | None
    count: int
    churn: int = 0


@dataclass(frozen=True)
class SurveyCell:
    """How many answers of one metric (nps/csat/ces) had this score, per week and touchpoint."""

    week_offset: int
    touchpoint: str | None
    metric: str
    score: int
    count: int


@dataclass(frozen=True)
class TopicCount:
    """Negative mentions about a topic in one week (aspect sentiment, else the mention's label)."""

    week_offset: int
    topic: str
    negative: int


@dataclass(frozen=True)
class Quote:
    """A representative negative mention: customer text, escaped and cut by the renderers."""

    text: str
    url: str
    source: str


@dataclass(frozen=True)
class IncidentLine:
    title: str
    status: str  # open / closed
    state: str  # new / growing / critical / quiet / resolved
    mentions: int
    opened_at: datetime
    last_mention_at: datetime


@dataclass(frozen=True)
class CoverageLine:
    """One source's coverage for the week, judged by the coverage ledger at the week's end."""

    source: str
    kind: str
    status: str  # ok / degraded / dark
    items: int  # new items crawled during the week
    usual: float | None  # median of the weeks before; None without history
    reason: str = ""


@dataclass(frozen=True)
class DigestOptions:
    """Knobs of the digest (from `[digest]` in the config)."""

    min_mentions: int = 20  # below this many analyzed mentions a touchpoint's shares are flagged
    mix_shift_threshold: float = 0.2  # source-mix change (total variation) that earns the mix-effect line
    top_topics: int = 5
    quotes_per_topic: int = 3
    incidents: int = 5


@dataclass(frozen=True)
class WeekData:
    """Everything the digest of one week is computed from, read from stored data only."""

    week: str
    start: datetime
    end: datetime
    timezone: str
    touchpoints: list[tuple[str, str]]  # (name, stage) in journey order
    sentiment: list[SentimentCell]
    surveys: list[SurveyCell] = field(default_factory=list)
    topics: list[TopicCount] = field(default_factory=list)
    quotes: dict[str, list[Quote]] = field(default_factory=dict)
    incidents: list[IncidentLine] = field(default_factory=list)
    coverage: list[CoverageLine] = field(default_factory=list)
    held_back: dict[str, int] = field(default_factory=dict)  # channel -> alerts the budget held back
    model_versions: dict[str, int] = field(default_factory=dict)  # version -> analyses this week
    taxonomy_version: str = "none"
    trend_weeks: list[str] = field(default_factory=list)  # labels of offsets 0..n-1
    # Set when the week is not over: the data is of [start, partial_until) only (a preview).
    partial_until: datetime | None = None


# -- output --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TouchpointRow:
    """One touchpoint's week; shares over analyzed mentions; deltas in share units (0.05 = 5 points)."""

    touchpoint: str
    stage: str
    mentions: int  # analyzed mentions
    unanalyzed: int
    negative: int
    neutral: int
    positive: int
    share_negative: float | None
    share_neutral: float | None
    share_positive: float | None
    net: float | None
    negative_ci: tuple[float, float] | None
    share_negative_prev: float | None
    share_negative_4w: float | None  # pooled over the 4 weeks before
    net_prev: float | None
    net_4w: float | None
    small_n: bool
    churn_risk: int

    @property
    def delta_negative_prev(self) -> float | None:
        return delta(self.share_negative, self.share_negative_prev)

    @property
    def delta_negative_4w(self) -> float | None:
        return delta(self.share_negative, self.share_negative_4w)

    @property
    def delta_net_prev(self) -> float | None:
        return delta(self.net, self.net_prev)

    @property
    def delta_net_4w(self) -> float | None:
        return delta(self.net, self.net_4w)


@dataclass(frozen=True)
class SurveyRow:
    touchpoint: str
    metric: str  # nps / csat / ces
    value: float | None
    responses: int
    previous: float | None

    @property
    def change(self) -> float | None:
        return delta(self.value, self.previous)


@dataclass(frozen=True)
class TopicRow:
    topic: str
    negative: int
    previous: int
    quotes: list[Quote]

    @property
    def change(self) -> int:
        return self.negative - self.previous


@dataclass(frozen=True)
class MixEffect:
    """Overall change of the negative share vs last week, split into within-source change and mix."""

    overall_change: float | None
    within_change: float | None
    shift: float | None  # total variation distance of the source mixes
    flagged: bool  # the mix changed enough to say so


@dataclass(frozen=True)
class WeeklyDigest:
    week: str
    start: datetime
    end: datetime
    timezone: str
    stages: list[tuple[str, list[TouchpointRow]]]
    total: TouchpointRow
    surveys: list[SurveyRow]
    topics: list[TopicRow]
    incidents: list[IncidentLine]
    churn_risk: int
    churn_risk_prev: int
    coverage: list[CoverageLine]
    held_back: dict[str, int]
    model_versions: dict[str, int]
    taxonomy_version: str
    mix: MixEffect
    trend: list[tuple[str, float | None]]  # oldest first: (week label, overall negative share)
    options: DigestOptions
    # A partial digest (a preview of a week that is not over) covers [start, partial_until) only.
    partial_until: datetime | None = None

    @property
    def rows(self) -> list[TouchpointRow]:
        return [row for _, rows in self.stages for row in rows]

    @property
    def is_partial(self) -> bool:
        return self.partial_until is not None

    @property
    def is_empty(self) -> bool:
        """Nothing was stored for the week: no mentions (analyzed or awaiting analysis) and no survey
        answers. Survey rows of last week alone do not count. A week whose mentions all await analysis is
        not empty: that the analysis is behind is worth saying."""
        answers = sum(survey.responses for survey in self.surveys)
        return self.total.mentions + self.total.unanalyzed == 0 and answers == 0
