"""How fast an analyzer reads short and long texts: measured the same way by the report and the benchmark.

Short texts are ~15 tokens (a tweet-sized complaint), long ones ~120 (a review of several sentences and
clauses, where the clause pass costs most). Texts mix English, Chinese and German like real traffic.
Rates are texts per second through the whole `Analyzer.analyze` (encoder, tuned branch, heads, clauses,
topics, churn, language), best of a few runs: the figure says what the machine can do, not what else it
was doing (the median is kept beside it).
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

SENTENCES = (  # ~15 tokens each with the "query: " prefix and <s> </s>
    "Delivery was late and nobody answered my emails.",
    "快递太慢了，客服态度很差，不买了。",
    "Great quality, the jacket fits perfectly.",
    "The app crashes when I open payments.",
    "房间很干净，前台服务很热情。",
    "I waited forty minutes on the phone.",
    "Der Service war freundlich, aber langsam.",
    "Prices went up again without notice.",
)
SHORT_TOKENS, LONG_TOKENS = 15, 120


class Reader(Protocol):
    """What is measured: an analyzer's `analyze`."""

    def analyze(self, texts: Sequence[str]) -> object: ...


@dataclass(frozen=True)
class Rate:
    """Texts per second on one kind of text."""

    kind: str  # "short" or "long"
    tokens: float  # mean tokens per text, as the encoder reads them
    best: float
    median: float


def sample_texts(kind: str, count: int, n_tokens: Callable[[str], int]) -> list[str]:
    """`count` short texts (the sentences in turn) or long ones (different runs of sentences, ~120 tokens)."""
    if kind == "short":
        return [SENTENCES[i % len(SENTENCES)] for i in range(count)]
    texts: list[str] = []
    for i in range(count):
        text, j = SENTENCES[i % len(SENTENCES)], i + 1
        while n_tokens(text) < LONG_TOKENS:
            text += " " + SENTENCES[j % len(SENTENCES)]
            j += 1
        texts.append(text)
    return texts


def texts_per_second(run: Callable[[], object], count: int, repeats: int) -> tuple[float, float]:
    """Best and median texts/s of `run` (which reads `count` texts) over `repeats` runs."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        rates.append(count / (time.perf_counter() - started))
    return max(rates), statistics.median(rates)


def measure(
    reader: Reader, n_tokens: Callable[[str], int], *, counts: tuple[int, int] = (320, 96), repeats: int = 3
) -> list[Rate]:
    """Rates of `reader.analyze` on short and long texts (after one warm-up call)."""
    reader.analyze(list(SENTENCES) * 4)  # first calls allocate and pick kernels
    rates = []
    for kind, count in zip(("short", "long"), counts, strict=True):
        texts = sample_texts(kind, count, n_tokens)
        best, median = texts_per_second(functools.partial(reader.analyze, texts), count, repeats)
        rates.append(Rate(kind, statistics.mean(n_tokens(t) for t in texts), best, median))
    return rates
