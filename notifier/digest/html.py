"""The digest as ONE self-contained HTML file: inline CSS, the chart embedded as a base64 PNG.

Jinja2 autoescaping is on for the whole template, so customer quotes, touchpoint and topic names and
URLs are HTML-escaped; links are made only for http(s) URLs. The page needs nothing from the network,
reads on a phone (tables scroll sideways) and prints (no cut tables or quotes).
"""

from __future__ import annotations

import base64

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifier.digest import format as fmt
from notifier.digest.model import WeeklyDigest
from notifier.escape import is_linkable, truncate

__all__ = ["render_html"]

QUOTE_LIMIT = 500

_ENV = Environment(
    loader=PackageLoader("notifier.digest", ""),
    autoescape=select_autoescape(["html", "j2"], default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_html(digest: WeeklyDigest, chart_png: bytes) -> str:
    template = _ENV.get_template("digest.html.j2")
    return template.render(
        d=digest,
        chart_b64=base64.b64encode(chart_png).decode("ascii"),
        date_range=fmt.date_range(digest),
        overall=fmt.overall(digest),
        week_title=fmt.week_title(digest),
        partial_text=fmt.partial_text(digest),
        mix_text=fmt.mix_text(digest.mix),
        pct=fmt.pct,
        pct_range=fmt.pct_range,
        points=fmt.points,
        net=fmt.net,
        signed=fmt.signed,
        survey_value=fmt.survey_value,
        stage_title=fmt.stage_title,
        coverage_text=fmt.coverage_text,
        model_text=fmt.model_text,
        trend_class=_trend_class,
        linkable=is_linkable,
        quote_text=lambda text: truncate(" ".join(text.split()), QUOTE_LIMIT),
    )


def _trend_class(change: float | None) -> str:
    """Red when the negative share rose by at least a point, green when it fell by as much."""
    if change is None or abs(change) < 0.01:
        return ""
    return "up" if change > 0 else "down"
