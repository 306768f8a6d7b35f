"""Labelled sentiment examples read from JSONL (the `../shared/data` sets, or a user's own file).

Every line is `{"id", "text", "label"}` with label `negative|neutral|positive`. Sets with other label shapes
(aspect sets) are not sentence-level sentiment and are skipped by `read_sentiment_jsonl`'s callers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


def read_split(data_dir: Path, name: str, split: str) -> list[Example]:
    """Read `data_dir/<name>/<split>.jsonl`."""
    return read_sentiment_jsonl(data_dir / name / f"{split}.jsonl")


def fingerprint(examples: Sequence[Example]) -> str:
    """sha256 over ids, texts and labels: recorded in head.json so a head names the exact data it saw."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.id}\t{example.label}\t{example.text}\n".encode())
    return digest.hexdigest()
