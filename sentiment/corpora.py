"""Labelled sentiment examples read from JSONL (the `../shared/data` sets, or a user's own file).

Training reads `{"id", "text", "label"}` lines, label `negative|neutral|positive` (`read_sentiment_jsonl`).
Evaluation (`read_eval_jsonl`) also takes aspect lines: `{"text", "aspect", "label"}`, or the shared aspect
sets' `{"text", "label": {"aspects": [{"category", "polarity"}, ...]}}`, one item per category.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.errors import ModelFormatError
from sentiment.types import SentimentLabel

# The sets the first head trains on: English tweets with neutral, Chinese reviews without it.
SENTIMENT_SETS: tuple[str, ...] = (
    "tweeteval_sentiment",
    "chnsenticorp_htl",
    "waimai_10k",
    "online_shopping_10_cats",
)


@dataclass(frozen=True)
class Example:
    """One labelled text."""

    id: str
    text: str
    label: SentimentLabel


def read_sentiment_jsonl(path: Path) -> list[Example]:
    """Read `{"id", "text", "label"}` lines; an unknown label is an error, never silently dropped."""
    examples: list[Example] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            try:
                label = SentimentLabel(row["label"])
            except (KeyError, ValueError):
                raise ModelFormatError(
                    f"{path}:{number}: label must be one of {list(SentimentLabel)}"
                ) from None
            examples.append(
                Example(id=str(row.get("id", f"{path.stem}-{number}")), text=row["text"], label=label)
            )
    return examples


@dataclass(frozen=True)
class EvalItem:
    """One labelled text to evaluate on; `aspect` set means "the sentiment toward this aspect"."""

    id: str
    text: str
    label: SentimentLabel
    aspect: str | None = None


@dataclass(frozen=True)
class EvalFile:
    """The items of an evaluation file, and how many aspect labels were left out as `conflict`.

    "conflict" (both positive and negative toward one aspect) is not one of the three labels; the
    published 3-way aspect-category figures leave those rows out too.
    """

    items: list[EvalItem]
    skipped_conflict: int = 0


def read_eval_jsonl(path: Path) -> EvalFile:
    """Read an evaluation file (formats in the module docstring); a bad line is an error naming its number."""
    items: list[EvalItem] = []
    skipped = 0
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row_id, text = str(row.get("id", f"{path.stem}-{number}")), row["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
                for aspect, label in _labels_of(row):
                    if label == "conflict" and aspect is not None:
                        skipped += 1
                        continue
                    item_id = row_id if aspect is None else f"{row_id}#{aspect}"
                    items.append(EvalItem(id=item_id, text=text, label=SentimentLabel(label), aspect=aspect))
            except (ValueError, KeyError, TypeError, AttributeError) as problem:
                raise ModelFormatError(
                    f'{path}:{number}: expected {{"text", "label"}} or {{"text", "aspect", '
                    f'"label"}} with label one of {[str(x) for x in SentimentLabel]} ({problem!r})'
                ) from None
    return EvalFile(items=items, skipped_conflict=skipped)


def _labels_of(row: dict[str, Any]) -> list[tuple[str | None, str]]:
    label = row["label"]
    if isinstance(label, dict):
        return [(str(a["category"]), str(a["polarity"])) for a in label["aspects"]]
    aspect = row.get("aspect")
    return [(None if aspect is None else str(aspect), str(label))]


def read_split(data_dir: Path, name: str, split: str) -> list[Example]:
    """Read `data_dir/<name>/<split>.jsonl`."""
    return read_sentiment_jsonl(data_dir / name / f"{split}.jsonl")


def fingerprint(examples: Sequence[Example]) -> str:
    """sha256 over ids, texts and labels: recorded in head.json so a head names the exact data it saw."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.id}\t{example.label}\t{example.text}\n".encode())
    return digest.hexdigest()
