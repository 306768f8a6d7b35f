"""Small labelled sets laid out like ../shared/data, written by tests; a reader for the report table."""

from __future__ import annotations

import json
from pathlib import Path

from sentiment.corpora import SENTIMENT_SETS
from sentiment.training import ASPECT_SETS
from tests.support.models import LABELLED_REVIEWS


def write_labelled_sets(data_dir: Path, *, aspects: bool = False) -> None:
    """The hand-written reviews as every sentiment set (the Chinese ones without neutral, like the real
    ones), train and dev alike; with `aspects`, also as the two aspect sets (category "food")."""
    for name in SENTIMENT_SETS:
        rows = [
            {"id": f"{name}-{i}", "text": text, "label": label}
            for i, (label, text) in enumerate(LABELLED_REVIEWS)
            if name == "tweeteval_sentiment" or label != "neutral"
        ]
        _write_splits(data_dir / name, rows)
    for name in ASPECT_SETS if aspects else ():
        rows = [
            {
                "id": f"{name}-{i}",
                "text": text,
                "label": {"aspects": [{"category": "food", "polarity": label}]},
            }
            for i, (label, text) in enumerate(LABELLED_REVIEWS)
        ]
        _write_splits(data_dir / name, rows)


def _write_splits(directory: Path, rows: list[dict[str, object]]) -> None:
    directory.mkdir(parents=True)
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    for split in ("train", "dev"):
        (directory / f"{split}.jsonl").write_text(lines, encoding="utf-8")


def headline(report: str) -> dict[str, dict[str, str]]:
    """The accuracy report's headline table: rows by set name, each a column name -> cell mapping."""
    table = [
        line
        for line in report.split("## Headline")[1].split("Notes:")[0].splitlines()
        if line.startswith("|")
    ]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}
