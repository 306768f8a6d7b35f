"""Character n-gram evidence for Chinese texts, stacked onto the sentiment head.

Why: on Chinese reviews a bag of character 1-3-grams with logistic regression reads about as well as the
tuned encoder, and the two err on different rows (a classic TF-IDF model keys on local phrases such as
"不错" or "太慢", the encoder on the whole text). Adding the n-gram model's evidence to the head's
probabilities beats both: on the selection slice of the Chinese train splits, accuracy rose from
88.9 / 89.9 / 93.5 (head) and 91.2 / 91.1 / 94.1 (n-grams) to 91.2 / 93.0 / 95.0 (ChnSentiCorp, waimai,
online shopping; sentiment/heads/README.md).

The stacking rule is a log-linear pool that only moves mass between negative and positive, because the
n-gram model learned from binary sets and never saw a neutral text:

    log p(c | x) = log p_head(c | x) + weight * s(x) * v_c + const,   v = (-1/2, 0, +1/2) for (neg, neu, pos)

where s(x) = log p_ngram(positive | x) / p_ngram(negative | x). `weight` is fitted by negative
log-likelihood on the selection slice (train rows neither model was fitted on), never on dev; then a
`temperature` divides the pooled log-probabilities, fitted the same way, so the stacked probabilities stay
calibrated (it never changes which label wins). Texts in
another language keep the head's probabilities unchanged.

Inference is plain Python and numpy over the stored vocabulary (about 200k n-grams); scikit-learn, from the
`eval` extra, is needed only to fit (`fit_char_ngrams`). On disk: `ngrams.safetensors` (vocabulary as
newline-joined UTF-8 bytes, idf and coefficients in fp16) and `ngrams.json` (language, n-gram range,
intercept, stacking weight, version, training record). No pickles: loading runs no code.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file, save_file

from sentiment.calibration import golden_section_minimum, softmax
from sentiment.errors import ModelFormatError, ModelNotFoundError
from sentiment.language import detect_language
from sentiment.types import SentimentLabel

NGRAMS_DIR = "ngrams"
NGRAMS_FORMAT = "vocwatch-char-ngrams"
NGRAMS_FORMAT_VERSION = 1
WEIGHTS_FILE = "ngrams.safetensors"
META_FILE = "ngrams.json"
DEFAULT_NGRAM_RANGE = (1, 3)
MIN_DF = 3
"""N-grams in fewer train texts are dropped: on the selection slice min_df 3 read as well as 2 with half the
vocabulary (197k vs 376k n-grams on the three Chinese sets)."""
C_GRID: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)
WEIGHT_RANGE = (0.0, 5.0)
_DIRECTION = {SentimentLabel.NEGATIVE: -0.5, SentimentLabel.NEUTRAL: 0.0, SentimentLabel.POSITIVE: 0.5}


def char_ngrams(text: str, ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE) -> list[str]:
    """The character n-grams of `text`, lower-cased with runs of whitespace read as one space.

    Fitting hands this very function to scikit-learn as the analyzer, so training and inference cannot
    disagree about what an n-gram is.
    """
    normal = " ".join(text.lower().split())
    low, high = ngram_range
    return [normal[i : i + n] for n in range(low, high + 1) for i in range(len(normal) - n + 1)]


@dataclass(frozen=True, eq=False)  # numpy fields: compare `version` instead
class CharNgramModel:
    """TF-IDF over character n-grams (sublinear tf, smooth idf, L2 rows) + binary logistic regression."""

    vocabulary: Mapping[str, int]
    idf: NDArray[np.float32]
    coef: NDArray[np.float32]
    intercept: float
    weight: float = 0.0
    temperature: float = 1.0
    language: str = "zh"
    ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.vocabulary) == len(self.idf) == len(self.coef)):
            raise ModelFormatError("n-gram vocabulary, idf and coefficients differ in length")
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise ModelFormatError(f"n-gram stacking weight must be a number >= 0, got {self.weight}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ModelFormatError(f"n-gram temperature must be a positive number, got {self.temperature}")

    @property
    def version(self) -> str:
        """`ngrams-<language>.<hash>` of everything that changes a score."""
        digest = hashlib.sha256()
        stacking: list[Any] = [self.language, self.ngram_range, self.intercept, self.weight]
        if self.temperature != 1.0:  # an untempered model keeps the version it had before temperatures
            stacking.append(self.temperature)
        digest.update(json.dumps(stacking).encode())
        digest.update("\n".join(_ordered(self.vocabulary)).encode("utf-8"))
        for array in (self.idf, self.coef):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        return f"ngrams-{self.language}.{digest.hexdigest()[:8]}"

    def log_odds(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """s(x) = log p(positive) / p(negative) of each text."""
        out = np.empty(len(texts), dtype=np.float64)
        for row, text in enumerate(texts):
            counts = Counter(
                index
                for gram in char_ngrams(text, self.ngram_range)
                if (index := self.vocabulary.get(gram)) is not None
            )
            if not counts:
                out[row] = self.intercept
                continue
            columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            values = tf * self.idf[columns]
            out[row] = float(values @ self.coef[columns]) / float(np.linalg.norm(values)) + self.intercept
        return out

    def covers(self, text: str) -> bool:
        """Whether this model speaks the text's language (it leaves other texts alone)."""
        return detect_language(text) == self.language

    def stack(
        self, probabilities: NDArray[np.float32], texts: Sequence[str], labels: Sequence[str]
    ) -> NDArray[np.float32]:
        """The head's `probabilities` (columns in `labels` order) with this model's evidence added.

        Rows whose text is in another language come back unchanged.
        """
        covered = np.array([self.covers(text) for text in texts], dtype=bool)
        if self.weight == 0 or not covered.any():
            return probabilities
        out = probabilities.copy()
        out[covered] = pool(
            probabilities[covered],
            self.log_odds([t for t, c in zip(texts, covered, strict=True) if c]),
            self.weight,
            labels,
            temperature=self.temperature,
        )
        return out

    def with_weight(self, weight: float) -> CharNgramModel:
        return replace(self, weight=weight)

    def with_temperature(self, temperature: float) -> CharNgramModel:
        return replace(self, temperature=temperature)

    def with_metadata(self, **metadata: Any) -> CharNgramModel:
        return replace(self, metadata={**self.metadata, **metadata})

    def rounded(self) -> CharNgramModel:
        """The model as it will be after saving (fp16 tensors): evaluate this one for honest figures."""
        return replace(self, idf=_fp16(self.idf), coef=_fp16(self.coef))

    # ---------------------------------------------------------------- persistence

    def save(self, directory: Path) -> None:
        """Write `ngrams.safetensors` + `ngrams.json` into `directory` (created if needed)."""
        stored = self.rounded()
        vocabulary = "\n".join(_ordered(stored.vocabulary)).encode("utf-8")
        directory.mkdir(parents=True, exist_ok=True)
        save_file(
            {
                "vocabulary": np.frombuffer(vocabulary, dtype=np.uint8).copy(),
                "idf": stored.idf.astype(np.float16),
                "coef": stored.coef.astype(np.float16),
            },
            directory / WEIGHTS_FILE,
        )
        meta = {
            "format": NGRAMS_FORMAT,
            "format_version": NGRAMS_FORMAT_VERSION,
            "version": stored.version,
            "language": stored.language,
            "ngram_range": list(stored.ngram_range),
            "features": "tf-idf: 1 + log(tf), smooth idf, L2-normalised rows",
            "intercept": stored.intercept,
            "weight": stored.weight,
            "temperature": stored.temperature,
            **stored.metadata,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")

    @classmethod
    def load(cls, directory: Path) -> CharNgramModel:
        """Read a model written by `save`; refuses another format or a file edited by hand."""
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise ModelNotFoundError(
                f"no n-gram model in {directory} (expected {META_FILE} and {WEIGHTS_FILE})"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != NGRAMS_FORMAT or meta.get("format_version") != NGRAMS_FORMAT_VERSION:
            raise ModelFormatError(f"{meta_path} is not a {NGRAMS_FORMAT} v{NGRAMS_FORMAT_VERSION} file")
        tensors = load_file(weights_path)
        try:
            grams = bytes(tensors["vocabulary"]).decode("utf-8").split("\n")
            model = cls(
                vocabulary={gram: i for i, gram in enumerate(grams)},
                idf=tensors["idf"].astype(np.float32),
                coef=tensors["coef"].astype(np.float32),
                intercept=float(meta["intercept"]),
                weight=float(meta["weight"]),
                temperature=float(meta.get("temperature", 1.0)),
                language=str(meta["language"]),
                ngram_range=(int(meta["ngram_range"][0]), int(meta["ngram_range"][1])),
                metadata={k: v for k, v in meta.items() if k not in _RESERVED_META},
            )
        except (KeyError, IndexError, UnicodeDecodeError) as error:
            raise ModelFormatError(f"n-gram model in {directory} is incomplete: {error}") from None
        if meta.get("version") != model.version:
            raise ModelFormatError(
                f"{weights_path} does not match the version in {META_FILE} (edited by hand?)"
            )
        return model


_RESERVED_META = frozenset(
    {"format", "format_version", "version", "language", "ngram_range", "features", "intercept", "weight"}
    | {"temperature"}
)


def pool(
    probabilities: NDArray[np.float32],
    log_odds: NDArray[np.float64],
    weight: float,
    labels: Sequence[str],
    *,
    temperature: float = 1.0,
) -> NDArray[np.float32]:
    """The log-linear pool of the module docstring, row by row, divided by `temperature`."""
    direction = np.array([_DIRECTION.get(SentimentLabel(label), 0.0) for label in labels])
    z = np.log(np.clip(probabilities.astype(np.float64), 1e-12, None)) + weight * np.outer(
        log_odds, direction
    )
    return softmax(z.astype(np.float32), temperature)


def fit_weight(
    probabilities: NDArray[np.float32],
    log_odds: NDArray[np.float64],
    targets: Sequence[str],
    labels: Sequence[str],
) -> float:
    """The stacking weight that minimises the negative log-likelihood of `targets` (selection-slice rows)."""
    if len(targets) == 0:
        raise ValueError("no rows to fit the stacking weight on")
    column = np.array([list(labels).index(t) for t in targets])

    def loss(weight: float) -> float:
        pooled = pool(probabilities, log_odds, weight, labels)
        return float(-np.log(np.clip(pooled[np.arange(len(column)), column], 1e-12, None)).mean())

    return golden_section_minimum(loss, *WEIGHT_RANGE)


def fit_char_ngrams(
    texts: Sequence[str], labels: Sequence[str], *, language: str = "zh", min_df: int = MIN_DF
) -> CharNgramModel:
    """Fit the vocabulary, idf and a logistic regression (C by 5-fold CV on these rows) on binary labels.

    `labels` are "positive" / "negative"; the stacking weight is left at 0 for `fit_weight` to set on
    rows the model did not see.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sentiment.reference import fit_logistic_cv

    if set(labels) - {SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE}:
        raise ValueError("the n-gram model learns from positive and negative rows only")
    vectorizer = TfidfVectorizer(
        analyzer=char_ngrams, sublinear_tf=True, min_df=min_df, smooth_idf=True, dtype=np.float32
    )
    x = vectorizer.fit_transform(texts)
    fitted = fit_logistic_cv(x, [str(label) for label in labels], C_GRID, "accuracy")
    sign = 1.0 if str(fitted.model.classes_[1]) == SentimentLabel.POSITIVE else -1.0
    order = sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])
    return CharNgramModel(
        vocabulary={gram: i for i, (gram, _) in enumerate(order)},
        idf=vectorizer.idf_.astype(np.float32),
        coef=(sign * fitted.model.coef_[0]).astype(np.float32),
        intercept=sign * float(fitted.model.intercept_[0]),
        language=language,
        metadata={
            "training": {
                "rows": len(texts),
                "min_df": min_df,
                "c": fitted.c,
                "c_grid": list(C_GRID),
                "cv_accuracy": round(fitted.cv_score, 4),
            }
        },
    )


def _ordered(vocabulary: Mapping[str, int]) -> list[str]:
    return sorted(vocabulary, key=vocabulary.__getitem__)


def _fp16(array: NDArray[np.float32]) -> NDArray[np.float32]:
    return array.astype(np.float16).astype(np.float32)
