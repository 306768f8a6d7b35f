"""Fuzz the survey import (`crawlers.parsing.survey.parse_survey`: NPS/CSAT/CES exports as CSV or JSON).

Input: the file's bytes, then one last byte that picks the format (CSV or JSON), the timezone of dates
written without one, and whether the operator renamed columns. The seeds in `corpus/survey/` are small
exports written by hand (wide and long CSV layouts, a semicolon CSV, a GBK CSV from Excel, a JSON array,
a wrapped JSON object and JSON Lines), each followed by one option character; JSON seeds are mutated as
JSON (`_harness.mutate_json`) with the option byte kept. Allowed: ValueError (the file is not CSV/JSON
at all). Crash: any other exception, or an accepted answer off its scale, without a respondent or
without an aware time (bad rows must come back as problems, not as answers or exceptions).

    python fuzz/fuzz_survey.py -max_total_time=300 out/fuzz/survey fuzz/corpus/survey
"""

from __future__ import annotations

import itertools

import _harness
import atheris  # type: ignore[import-untyped]  # atheris ships no type hints

with _harness.instrumented():
    from crawlers.parsing.survey import METRIC_SCALES, SurveyColumns, parse_survey

_harness.load_date_locales()

COLUMNS = (SurveyColumns(), SurveyColumns().with_overrides({"nps": "How likely?", "comment": "Verbatim"}))
OPTIONS = tuple(itertools.product(("csv", "json"), ("UTC", "Asia/Shanghai"), COLUMNS))


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    file_format, tz, columns = provider.PickValueInList(list(OPTIONS))
    body = provider.ConsumeBytes(provider.remaining_bytes())
    try:
        result = parse_survey(body, format=file_format, columns=columns, tz=tz, now=_harness.NOW)
    except ValueError:
        return
    for answer in result.answers:
        if not (isinstance(answer.respondent_id, str) and answer.respondent_id):
            raise _harness.FuzzCrash(f"{answer.location}: no respondent id: {answer!r:.300}")
        if answer.answered_at.utcoffset() is None:
            raise _harness.FuzzCrash(f"{answer.location}: naive answered_at {answer.answered_at!r}")
        for metric, score in answer.scores.items():
            low, high = METRIC_SCALES[metric]
            if not (type(score) is int and low <= score <= high):
                raise _harness.FuzzCrash(f"{answer.location}: {metric} {score!r} off {low}..{high}")
    for problem in result.problems:
        if not (isinstance(problem.location, str) and isinstance(problem.message, str)):
            raise _harness.FuzzCrash(f"problem is not text: {problem!r:.300}")


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    return _harness.mutate_json(data, max_size, seed, tail=1)


if __name__ == "__main__":
    _harness.fuzz(test_one_input, custom_mutator=custom_mutator)
