"""The weekly digest, pure: stored numbers in, Block Kit, HTML, CSV and a chart PNG out.

`vocwatch.stages.digest` reads a week's numbers from storage into a `WeekData`, `build_digest` computes every
figure once (`WeeklyDigest`), and the renderers only format it, so Slack, the HTML report and the CSV
always agree. This package never imports `storage`; `notifier.digest.slack` holds its Slack calls.
"""

from notifier.digest.blocks import build_digest_blocks, build_digest_fallback
from notifier.digest.build import ALL_TOUCHPOINTS, build_digest
from notifier.digest.chart import render_chart
from notifier.digest.export import render_csv
from notifier.digest.html import render_html
from notifier.digest.model import (
    CoverageLine,
    DigestOptions,
    IncidentLine,
    MixEffect,
    Quote,
    SentimentCell,
    SurveyCell,
    SurveyRow,
    TopicCount,
    TopicRow,
    TouchpointRow,
    WeekData,
    WeeklyDigest,
)
from notifier.digest.week import IsoWeek

__all__ = [
    "ALL_TOUCHPOINTS",
    "CoverageLine",
    "DigestOptions",
    "IncidentLine",
    "IsoWeek",
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
    "build_digest",
    "build_digest_blocks",
    "build_digest_fallback",
    "render_chart",
    "render_csv",
    "render_html",
]
