"""Survey exports: wide CSV, long JSON, JSON Lines; bad rows are reported by line and skipped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.parsing.survey import SurveyColumns, parse_survey

SURVEYS = Path(__file__).resolve().parents[2] / "data" / "surveys"


def test_wide_csv_answers_and_problems_are_exact() -> None:
    parsed = parse_survey((SURVEYS / "wide.csv").read_bytes(), format="csv", tz="Europe/Berlin")

    by_id = {a.respondent_id: a for a in parsed.answers}
    assert list(by_id) == ["r-001", "r-002", "r-004", "r-007"]
    first = by_id["r-001"]
    assert (first.location, dict(first.scores)) == ("line 2", {"nps": 9, "csat": 5, "ces": 2})
    assert (first.comment, first.touchpoint) == ("Delivery was quick, driver friendly.", "delivery")
    assert first.answered_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)  # Berlin 09:15
    second = by_id["r-002"]
    assert second.comment == "Waited 40 minutes on the support line.\nNobody called back."
    assert second.answered_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # its own +01:00
    assert (dict(by_id["r-004"].scores), by_id["r-004"].comment, by_id["r-004"].touchpoint) == (
        {"nps": 7},
        "",
        None,
    )
    assert [str(p) for p in parsed.problems] == [
        "line 5: nps score 12 is not a whole number from 0 to 10",  # r-002 spans lines 3-4
        "line 7: no respondent id",
        "line 8: unreadable date 'not a date'",
    ]


def test_long_json_rows_of_one_respondent_are_merged() -> None:
    parsed = parse_survey((SURVEYS / "long.json").read_bytes(), format="json")

    assert [(a.respondent_id, dict(a.scores), a.comment, a.touchpoint) for a in parsed.answers] == [
        ("L-1", {"nps": 2, "csat": 1}, "App crashes at login.", "product"),
        ("L-3", {"ces": 2}, "", None),
    ]
    assert parsed.answers[0].answered_at == datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    assert [str(p) for p in parsed.problems] == [
        "record 3: ces score 8 is not a whole number from 1 to 7",
        "record 5: not a JSON object",
    ]


def test_json_lines_report_the_broken_line() -> None:
    parsed = parse_survey((SURVEYS / "lines.jsonl").read_bytes(), format="json")

    assert [(a.respondent_id, dict(a.scores), a.location) for a in parsed.answers] == [
        ("j-1", {"nps": 10}, "line 1"),
        ("j-3", {"csat": 5}, "line 4"),
    ]
    assert [p.location for p in parsed.problems] == ["line 3"]


def test_configured_column_names_come_first() -> None:
    csv = "Who;How likely are you to recommend us?;Why;When\nu1;8;Fine;2026-11-01\n"
    columns = SurveyColumns().with_overrides(
        {
            "respondent_id": "Who",
            "nps": "How likely are you to recommend us?",
            "comment": "Why",
            "date": "When",
        }
    )

    [answer] = parse_survey(csv, format="csv", columns=columns).answers

    assert (answer.respondent_id, dict(answer.scores), answer.comment) == ("u1", {"nps": 8}, "Fine")


def test_unknown_column_field_and_non_json_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown survey field"):
        SurveyColumns().with_overrides({"sentiment": "x"})
    with pytest.raises(ValueError, match="not JSON"):
        parse_survey("respondent,nps\n1,2\n", format="json")


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("r,abc,,2026-11-01", "nps score 'abc' is not a number"),
        ("r,7.5,,2026-11-01", "nps score 7.5 is not a whole number from 0 to 10"),
        ("r,,,2026-11-01", "no score and no comment"),
        ("r,5,,", "no date"),
        ("r,5,x,2026-11-01,extra", "5 cells, the header has 4"),
    ],
)
def test_bad_rows(row: str, problem: str) -> None:
    parsed = parse_survey(f"respondent_id,nps,comment,date\n{row}\n", format="csv")

    assert parsed.answers == ()
    assert [str(p) for p in parsed.problems] == [f"line 2: {problem}"]


def test_gbk_csv_from_excel_is_decoded() -> None:
    csv = "respondent_id,csat,comment,date\nc1,2,配送太慢了，包装也破了，非常不满意。,2026-11-01 10:00\n"

    [answer] = parse_survey(csv.encode("gbk"), format="csv", tz="Asia/Shanghai").answers

    assert (answer.comment, dict(answer.scores)) == ("配送太慢了，包装也破了，非常不满意。", {"csat": 2})
    assert answer.answered_at == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
