"""CSV formula injection (issue 10, point 3): no exported cell can start a spreadsheet formula.

The digest's CSV export (`notifier.digest.render_csv`) carries operator- and customer-influenced names
(touchpoints, stages). Whatever they are, a spreadsheet opening the file must see text, not `=cmd|...`:
OWASP's trigger characters `=`, `+`, `-`, `@`, tab and carriage return may not lead a cell unless the cell
is a plain number.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from notifier.digest import DigestOptions, MixEffect, TouchpointRow, WeeklyDigest, render_csv
from tests.support.hostile import HOSTILE_STRINGS, hostile_text

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def row(touchpoint: str, stage: str) -> TouchpointRow:
    return TouchpointRow(
        touchpoint=touchpoint,
        stage=stage,
        mentions=3,
        unanalyzed=0,
        negative=1,
        neutral=1,
        positive=1,
        share_negative=1 / 3,
        share_neutral=1 / 3,
        share_positive=1 / 3,
        net=-0.0,
        negative_ci=(0.06, 0.79),
        share_negative_prev=None,
        share_negative_4w=None,
        net_prev=-0.5,
        net_4w=None,
        small_n=True,
        churn_risk=0,
    )


def digest(rows: list[TouchpointRow]) -> WeeklyDigest:
    now = datetime(2026, 11, 16, tzinfo=UTC)
    return WeeklyDigest(
        week="2026-W47",
        start=now,
        end=now,
        timezone="UTC",
        stages=[("receive", rows)],
        total=row("all", "all"),
        surveys=[],
        topics=[],
        incidents=[],
        churn_risk=0,
        churn_risk_prev=0,
        coverage=[],
        held_back={},
        model_versions={},
        taxonomy_version="t",
        mix=MixEffect(overall_change=None, within_change=None, shift=None, flagged=False),
        trend=[],
        options=DigestOptions(),
    )


def assert_no_formula(text: str) -> None:
    for cells in csv.reader(io.StringIO(text, newline="")):
        for cell in cells:
            if cell[:1] in FORMULA_TRIGGERS:
                try:
                    float(cell)
                except ValueError:
                    raise AssertionError(f"cell {cell!r} would be read as a formula") from None


def test_named_formula_payloads_are_neutralised() -> None:
    rows = [row(name, name) for name in HOSTILE_STRINGS if name]
    assert_no_formula(render_csv(digest(rows)))


@settings(max_examples=100, deadline=None)
@example(names=[("ok", "=1+1"), ("-2+3", "@x"), ("+1", "=cmd|' /C calc'!A0")])
@given(
    names=st.lists(st.tuples(hostile_text(max_size=40), hostile_text(max_size=20)), min_size=1, max_size=5)
)
def test_no_touchpoint_or_stage_name_becomes_a_formula(names: list[tuple[str, str]]) -> None:
    rows = [row(touchpoint, stage) for touchpoint, stage in names]
    assert_no_formula(render_csv(digest(rows)))
