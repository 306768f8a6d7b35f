"""Plain result types: what `Analyzer.analyze` returns. No torch or numpy leaks out of the package.

The composition root maps these onto storage rows; keeping them frozen and primitive means a result can
be logged, compared in tests and sent across processes without surprises.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class SentimentLabel(enum.StrEnum):
    """Three-way sentiment; the values are the strings stored in the database and used in data files."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


@dataclass(frozen=True)
class TopicScore:
    """A topic found in a mention, how strongly, and (aspect sentiment) how the mention feels about it."""

    topic: str
    score: float
    label: SentimentLabel | None = None


@dataclass(frozen=True)
class Analysis:
    """The model's reading of one text.

    `confidence` is the probability of the chosen label. `model_version` names encoder weights, conversion
    and head (or classifier) together, so stored analyses can be traced to exactly what produced them;
    `taxonomy_version` does the same for `topics`. `lang` is ISO 639-1 or `None` when unsure; `reliable` is
    False when `flags` name a reason the model may misread the text (very short, emoji only, sarcasm cue,
    a language it is weak on). `churn_risk` is 0..1; `topics` are sorted by score, each with the sentiment
    of the clauses about it. `embedding` is the text's L2-normalised e5 sentence embedding (empty where the
    analyzer has none): callers compare meanings with it, e.g. to tell two stories on one topic apart.
    """

    label: SentimentLabel
    p_negative: float
    p_neutral: float
    p_positive: float
    confidence: float
    model_version: str
    lang: str | None = None
    churn_risk: float | None = None
    topics: tuple[TopicScore, ...] = ()
    reliable: bool = True
    flags: tuple[str, ...] = ()
    taxonomy_version: str | None = None
    embedding: tuple[float, ...] = field(default=(), repr=False)

    @classmethod
    def from_probabilities(
        cls,
        probabilities: Mapping[SentimentLabel, float],
        *,
        model_version: str,
        lang: str | None = None,
        churn_risk: float | None = None,
        topics: tuple[TopicScore, ...] = (),
        flags: tuple[str, ...] = (),
        taxonomy_version: str | None = None,
        embedding: tuple[float, ...] = (),
    ) -> Analysis:
        """Build from per-label probabilities (a label missing from the head counts as 0).

        `reliable` follows from `flags`: a result is reliable exactly when nothing flags it.
        """
        p = {label: float(probabilities.get(label, 0.0)) for label in SentimentLabel}
        # Ties go to the order of SentimentLabel; exact ties do not occur with float softmax outputs.
        label = max(SentimentLabel, key=lambda candidate: p[candidate])
        return cls(
            label=label,
            p_negative=p[SentimentLabel.NEGATIVE],
            p_neutral=p[SentimentLabel.NEUTRAL],
            p_positive=p[SentimentLabel.POSITIVE],
            confidence=p[label],
            model_version=model_version,
            lang=lang,
            churn_risk=churn_risk,
            topics=topics,
            reliable=not flags,
            flags=flags,
            taxonomy_version=taxonomy_version,
            embedding=embedding,
        )
