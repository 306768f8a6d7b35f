"""Topic scores: how much a clause is about each topic of the taxonomy, 0..1, multi-label.

e5 cosine similarities all sit in a narrow band (~0.75-0.95) whose level depends on the text (short and
generic texts are close to everything), so a fixed cosine threshold misfires. A clause's similarity to a
topic (its best-matching phrase) is therefore measured against the clause's similarity to a fixed set of
background sentences about nothing in particular: the margin, not the raw cosine, says "about this topic".
The background is independent of the taxonomy, so a taxonomy of two topics scores like one of twenty.
Keywords are a hit on their own (`KEYWORD_SCORE`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import regex
from numpy.typing import NDArray

from sentiment.taxonomy import TopicDefinition, taxonomy_version

BACKGROUND = (
    "I went there on Tuesday with my family.",
    "Thanks!",
    "lol",
    "What do you think about it?",
    "I love this brand.",
    "This is the worst.",
    "It was okay, nothing special.",
    "See you tomorrow.",
    "The weather is nice today.",
    "I will tell my friends.",
    "今天天气不错",
    "还行吧",
    "太差了",
    "非常满意",
    "我下午去了一趟",
    "这个怎么样？",
    "谢谢",
    "哈哈哈",
    "以后再说吧",
    "Das war ganz okay.",
    "No está mal.",
    "C'était bien.",
    "まあまあです",
)
"""Off-topic sentences in several languages and moods: the similarity level of "about nothing"."""

MARGIN_FLOOR = 0.08
"""Best-phrase similarity minus background similarity at which a topic starts to count (score 0)."""
MARGIN_SPAN = 0.06
"""Margin above the floor at which the score reaches 1."""
KEYWORD_SCORE = 0.9
DEFAULT_THRESHOLD = 0.4
"""Topics scoring below this are not reported (a 0.104 margin; set on hand-written clauses, where
second-best topics of short Chinese clauses reach 0.3-0.4 and true topics mostly 0.5 or more)."""

Embed = Callable[[Sequence[str]], NDArray[np.float32]]
"""Texts -> L2-normalised sentence embeddings (the encoder's `encode`)."""


@dataclass(frozen=True, eq=False)  # numpy fields
class TopicIndex:
    """The taxonomy's phrases and the background, embedded once at load time."""

    taxonomy: tuple[TopicDefinition, ...]
    phrase_vectors: NDArray[np.float32]
    phrase_starts: NDArray[np.intp]  # first phrase row of each topic (phrases are grouped by topic)
    background_vectors: NDArray[np.float32]
    version: str
    threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def build(
        cls, taxonomy: Sequence[TopicDefinition], embed: Embed, *, threshold: float = DEFAULT_THRESHOLD
    ) -> TopicIndex:
        """Embed every topic's description and examples, and the background sentences."""
        topics = tuple(taxonomy)
        version = taxonomy_version(topics)
        phrases = [phrase for topic in topics for phrase in topic.phrases]
        starts = np.cumsum([0] + [len(topic.phrases) for topic in topics[:-1]]).astype(np.intp)
        vectors = embed([*phrases, *BACKGROUND])
        return cls(
            taxonomy=topics,
            phrase_vectors=vectors[: len(phrases)],
            phrase_starts=starts,
            background_vectors=vectors[len(phrases) :],
            version=version,
            threshold=threshold,
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(topic.name for topic in self.taxonomy)

    def scores(self, vectors: NDArray[np.float32], texts: Sequence[str]) -> NDArray[np.float32]:
        """Scores in 0..1, shape (len(texts), len(taxonomy)), from the texts' normalised embeddings."""
        out = np.zeros((len(texts), len(self.taxonomy)), dtype=np.float32)
        if not self.taxonomy or not len(texts):
            return out
        best = np.maximum.reduceat(vectors @ self.phrase_vectors.T, self.phrase_starts, axis=1)
        background = (vectors @ self.background_vectors.T).mean(axis=1, keepdims=True)
        out[:] = np.clip((best - background - MARGIN_FLOOR) / MARGIN_SPAN, 0.0, 1.0)
        for j, topic in enumerate(self.taxonomy):
            if topic.keywords:
                hits = [i for i, text in enumerate(texts) if keyword_hit(text, topic.keywords)]
                out[hits, j] = np.maximum(out[hits, j], KEYWORD_SCORE)
        return out


def keyword_hit(text: str, keywords: Sequence[str]) -> bool:
    """Whole-word, case-insensitive match in alphabetic scripts; substring match for CJK keywords."""
    return bool(keywords) and bool(keyword_pattern(tuple(keywords)).search(text))


@functools.lru_cache(maxsize=256)
def keyword_pattern(keywords: tuple[str, ...]) -> regex.Pattern[str]:
    """One compiled alternation per non-empty keyword list (cached: taxonomies are few and fixed)."""
    if not keywords:
        raise ValueError("an empty keyword list would match every text")
    alternatives = [
        regex.escape(k)
        if regex.search(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]", k)
        else r"\b" + regex.escape(k) + r"\b"
        for k in keywords
    ]
    return regex.compile("(?i)" + "|".join(alternatives))
