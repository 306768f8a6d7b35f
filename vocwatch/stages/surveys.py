"""`vocwatch import-survey`: read an export with `crawlers.parsing.survey`, write it with `storage.surveys`.

The glue lives here, in the composition root, because it is the one place that may know both the
parser's values and storage's rows. The whole file is imported in one transaction: a crash imports
nothing, and a rerun after it (or after a success) inserts only what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

import storage
import storage.surveys
from crawlers.parsing.survey import SurveyColumns, SurveyProblem, parse_survey
from storage.enums import SurveyMetric
from vocwatch.errors import VocwatchError

__all__ = ["SURVEY_KIND", "SurveyImportReport", "import_survey"]

SURVEY_KIND = "survey"


@dataclass(frozen=True)
class SurveyImportReport:
    rows: int  # answers read (after merging long-layout rows)
    scores_new: int
    scores_duplicate: int
    mentions_new: int
    problems: tuple[SurveyProblem, ...]


def import_survey(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    source_name: str,
    format: Literal["csv", "json"] | None = None,
    columns: Mapping[str, str] | None = None,
    timezone: str = "UTC",
    now: datetime | None = None,
) -> SurveyImportReport:
    """Import one export file into the survey source `source_name` (created, kind `survey`, if new).

    The format defaults to the file's extension (.json/.jsonl: json, else csv). Rows naming a touchpoint
    that is not configured are reported and skipped like any other bad row.
    """
    fmt = format or ("json" if path.suffix.lower() in (".json", ".jsonl") else "csv")
    try:
        data = path.read_bytes()
        spec = SurveyColumns().with_overrides(columns or {})
        parsed = parse_survey(data, format=fmt, columns=spec, tz=timezone, now=now)
    except OSError as exc:
        raise VocwatchError(f"cannot read {path}: {exc.strerror}", fix="check the file path") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise VocwatchError(f"{path}: {exc}", fix=f"export the survey as UTF-8 {fmt.upper()}") from exc
    problems = list(parsed.problems)
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        source = storage.sources.get_source(session, source_name) or storage.sources.upsert_source(
            session, name=source_name, kind=SURVEY_KIND, config={}, default_touchpoint=None
        )
        if source.kind != SURVEY_KIND:
            raise VocwatchError(
                f"source {source_name!r} is a {source.kind} source, not a survey",
                fix="pass --source with a new name (or an earlier survey import's)",
            )
        touchpoints: dict[str, int | None] = {}
        rows = []
        for answer in parsed.answers:
            touchpoint_id = None
            if answer.touchpoint is not None:
                if answer.touchpoint not in touchpoints:
                    touchpoints[answer.touchpoint] = storage.catalog.get_touchpoint_id(
                        session, answer.touchpoint
                    )
                touchpoint_id = touchpoints[answer.touchpoint]
                if touchpoint_id is None:
                    problems.append(
                        SurveyProblem(answer.location, f"unknown touchpoint {answer.touchpoint!r}")
                    )
                    continue
            rows.append(
                storage.surveys.NewSurveyAnswer(
                    respondent_id=answer.respondent_id,
                    scores={SurveyMetric(metric): score for metric, score in answer.scores.items()},
                    comment=answer.comment,
                    answered_at=answer.answered_at,
                    touchpoint_id=touchpoint_id,
                    raw=json.dumps(
                        {"file": path.name, "row": answer.location, "scores": dict(answer.scores)},
                        ensure_ascii=False,
                        sort_keys=True,
                    ),
                )
            )
        result = storage.surveys.insert_survey_answers(
            session, source_id=source.id, answers=rows, collected_at=now
        )
    return SurveyImportReport(
        rows=len(rows),
        scores_new=result.scores_new,
        scores_duplicate=result.scores_duplicate,
        mentions_new=len(result.mentions_new),
        problems=tuple(sorted(problems, key=_order)),
    )


def _order(problem: SurveyProblem) -> tuple[str, int]:
    kind, _, number = problem.location.partition(" ")
    return kind, int(number) if number.isdigit() else 0
