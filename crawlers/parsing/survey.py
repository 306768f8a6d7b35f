"""Survey exports (CSV or JSON) of NPS / CSAT / CES answers → typed answers plus the rows that were bad.

Exports differ in column names ("NPS Score", "respondent", "Submitted At"), so each field is looked up
under configurable names with common defaults, case- and space-insensitively. Both layouts are read:
*wide* (one row per respondent, one column per metric) and *long* (columns `metric` and `score`).

A bad row (no respondent id, a score off its scale, an unreadable date) is reported with its line
number (CSV, JSON Lines) or record number (a JSON array) and skipped: one typo in a 10,000-row export
must not lose the other 9,999, and the operator must learn which row to fix. Pure: bytes in, values out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

import attrs
from charset_normalizer import from_bytes

from crawlers.parsing.dates import parse_date
from crawlers.parsing.text import normalise_whitespace

__all__ = ["METRIC_SCALES", "SurveyAnswer", "SurveyColumns", "SurveyFile", "SurveyProblem", "parse_survey"]

# (lowest, highest) of each metric's answer scale.
METRIC_SCALES: Mapping[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def _names(*names: str) -> tuple[str, ...]:
    return names


@attrs.frozen
class SurveyColumns:
    """Column names tried for each field, first match wins (compared case- and space-insensitively)."""

    respondent_id: tuple[str, ...] = _names("respondent_id", "respondent", "response_id", "id")
    nps: tuple[str, ...] = _names("nps", "nps_score", "likelihood_to_recommend")
    csat: tuple[str, ...] = _names("csat", "csat_score", "satisfaction")
    ces: tuple[str, ...] = _names("ces", "ces_score", "effort", "customer_effort")
    comment: tuple[str, ...] = _names("comment", "comments", "feedback", "verbatim", "text")
    touchpoint: tuple[str, ...] = _names("touchpoint", "channel")
    date: tuple[str, ...] = _names("date", "answered_at", "submitted_at", "created_at", "timestamp")
    metric: tuple[str, ...] = _names("metric", "survey_type")  # long layout
    score: tuple[str, ...] = _names("score", "value")  # long layout

    def with_overrides(self, overrides: Mapping[str, str]) -> SurveyColumns:
        """Put configured names first (`{"nps": "How likely ..."}`); unknown fields are a ValueError."""
        unknown = set(overrides) - set(attrs.fields_dict(SurveyColumns))
        if unknown:
            raise ValueError(f"unknown survey field(s): {', '.join(sorted(unknown))}")
        changes = {field: (name, *getattr(self, field)) for field, name in overrides.items()}
        return attrs.evolve(self, **changes)


@attrs.frozen
class SurveyAnswer:
    """One respondent's answer: scores per metric (nps/csat/ces), the comment, where and when."""

    location: str  # "line 4" / "record 2": where it came from, for messages
    respondent_id: str
    scores: Mapping[str, int]
    comment: str
    touchpoint: str | None
    answered_at: datetime  # tz-aware UTC


@attrs.frozen
class SurveyProblem:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@attrs.frozen
class SurveyFile:
    answers: tuple[SurveyAnswer, ...]
    problems: tuple[SurveyProblem, ...]


class _BadRow(ValueError):
    pass


def parse_survey(
    data: bytes | str,
    *,
    format: Literal["csv", "json"],
    columns: SurveyColumns | None = None,
    tz: tzinfo | str = "UTC",
    now: datetime | None = None,
) -> SurveyFile:
    """Read a whole export. Only a file that is not CSV/JSON at all raises (ValueError); bad rows are
    returned as problems. `tz` is the zone of dates written without one; `now` reads relative dates.
    In the long layout, rows of one respondent are merged into one answer."""
    text = _decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    columns = columns or SurveyColumns()
    now = now or datetime.now(UTC)
    records = _csv_records(text) if format == "csv" else _json_records(text)
    answers: dict[str, SurveyAnswer] = {}
    problems: list[SurveyProblem] = []
    for location, record in records:
        try:
            answer = _to_answer(location, record, columns, tz=tz, now=now)
        except _BadRow as exc:
            problems.append(SurveyProblem(location, str(exc)))
            continue
        earlier = answers.get(answer.respondent_id)
        if earlier is not None:  # long layout: one row per metric; as in the database, the first wins
            answer = attrs.evolve(
                earlier,
                scores={
                    **earlier.scores,
                    **{m: v for m, v in answer.scores.items() if m not in earlier.scores},
                },
                comment=earlier.comment or answer.comment,
            )
        answers[answer.respondent_id] = answer
    return SurveyFile(answers=tuple(answers.values()), problems=tuple(problems))


def _decode(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else the detected encoding: Excel in China saves CSV as GBK."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None or best.encoding is None:
            raise ValueError("cannot tell the file's text encoding: save it as UTF-8") from None
        return str(best)


def _csv_records(text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    # The delimiter is sniffed from the header line only: answers are free text, and a comment full of
    # ";" made the sniffer pick ";" for a comma file, turning every row into a "bad row".
    header_line = text.split("\n", 1)[0]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(header_line, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    # csv.Error: a quote left open swallows the rest of the file into one field, past csv's field limit.
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ValueError(f"line 1: the header is not readable as CSV: {exc}") from None
    if header is None:
        return
    keys = [_key(name) for name in header]
    line = reader.line_num
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines
            if len(row) != len(keys):
                yield f"line {start}", {"\0error": f"{len(row)} cells, the header has {len(keys)}"}
                continue
            yield f"line {start}", dict(zip(keys, row, strict=True))
    except csv.Error as exc:
        yield f"line {line + 1}", {"\0error": f"not readable as CSV from here on ({exc}): a quote left open?"}


def _json_records(text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """A JSON array (or {"responses"/"data"/"results": [...]}) by record number, or JSON Lines by line."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        yield from _json_lines(text)
        return
    if isinstance(document, Mapping):
        document = next((document[k] for k in ("responses", "data", "results") if k in document), [document])
    if not isinstance(document, list):
        raise ValueError("a JSON survey export must be an array of objects")
    for index, record in enumerate(document, start=1):
        yield f"record {index}", _json_record(record)


def _json_lines(text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    lines = text.splitlines()
    if not any(line.strip().startswith("{") for line in lines):
        raise ValueError("not JSON: neither a JSON document nor JSON Lines")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {number}", {"\0error": f"not JSON: {exc.msg}"}
            continue
        yield f"line {number}", _json_record(record)


def _json_record(record: Any) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        return {"\0error": "not a JSON object"}
    return {_key(str(name)): value for name, value in record.items()}


def _key(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _field(record: Mapping[str, Any], names: Sequence[str]) -> str:
    for name in names:
        value = record.get(_key(name))
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def _to_answer(
    location: str, record: Mapping[str, Any], columns: SurveyColumns, *, tz: tzinfo | str, now: datetime
) -> SurveyAnswer:
    if error := record.get("\0error"):
        raise _BadRow(str(error))
    respondent = _field(record, columns.respondent_id)
    if not respondent:
        raise _BadRow("no respondent id")
    scores: dict[str, int] = {}
    if metric_name := _field(record, columns.metric).lower():
        if metric_name not in METRIC_SCALES:
            raise _BadRow(f"unknown metric {metric_name!r} (nps, csat or ces)")
        scores[metric_name] = _score(metric_name, _field(record, columns.score))
    else:
        for metric in METRIC_SCALES:
            if value := _field(record, getattr(columns, metric)):
                scores[metric] = _score(metric, value)
    comment = normalise_whitespace(_field(record, columns.comment))
    if not scores and not comment:
        raise _BadRow("no score and no comment")
    date_text = _field(record, columns.date)
    if not date_text:
        raise _BadRow("no date")
    answered_at = parse_date(date_text, now=now, tz=tz)
    if answered_at is None:
        raise _BadRow(f"unreadable date {date_text!r}")
    return SurveyAnswer(
        location=location,
        respondent_id=respondent,
        scores=scores,
        comment=comment,
        touchpoint=_field(record, columns.touchpoint) or None,
        answered_at=answered_at,
    )


def _score(metric: str, value: str) -> int:
    low, high = METRIC_SCALES[metric]
    try:
        number = float(value)
    except ValueError:
        raise _BadRow(f"{metric} score {value!r} is not a number") from None
    if not number.is_integer() or not low <= number <= high:
        raise _BadRow(f"{metric} score {value} is not a whole number from {low} to {high}")
    return int(number)
