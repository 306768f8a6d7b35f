"""Trained baselines for the accuracy report: what plain supervised models reach on each set's own data.

The lexicon baselines (`sentiment.baselines`) say what a team without labelled data gets; these say what a
team with the same train splits and an afternoon gets, so a figure for vocwatch means something only if it
beats them:
- TF-IDF + logistic regression: the classic text classifier. English reads word 1-2-grams and char_wb
  2-5-grams (FeatureUnion, sublinear tf); Chinese, which has no spaces between words, reads char 1-3-grams.
  N-grams seen in one train text only are left out (`min_df=2`): they cannot generalise, and dropping
  them halves the fitting time on the English sets at the same dev figures (measured on 1-4k rows).
- frozen e5 + logistic regression: a linear probe on the encoder vocwatch runs, read the standard e5 way
  (L2-normalised mean pool of the last layer of the *frozen* base model). Whatever vocwatch adds on top of
  the encoder (its heads, layer mix, fine-tuning) has to show here.

Each is fitted per set on the train split only. Its one hyper-parameter, the inverse regularisation C of
the logistic regression, is chosen from a fixed grid by 5-fold stratified cross-validation on train,
scored with the set's official metric (balanced accuracy = macro recall for TweetEval, accuracy otherwise).
Dev rows are only predicted, never seen while fitting or choosing, so these figures are as honest as the
model's own. The TF-IDF vocabulary and idf weights are fitted once on the whole train split before the
cross-validation (cheap, and the labels play no part in them); only the classifier is refitted per fold.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from sentiment.errors import TrainSplitError

# scikit-learn comes with the `eval` extra and loads on first use, so that `sentiment.report` (and
# `vocwatch eval FILE`) work without it.
if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    from sentiment.encoder import Encoder

Language = Literal["en", "zh"]
Scoring = Literal["accuracy", "balanced_accuracy"]
"""scikit-learn scorer names; "balanced_accuracy" is the mean recall over classes, i.e. macro recall."""

Features = Callable[[Sequence[str], Sequence[str], Language], tuple[Any, Any]]
"""(train texts, dev texts, language) -> (train matrix, dev matrix), sparse or dense; fitted on train only."""

CV_FOLDS = 5
CV_SEED = 0
MAX_ITER = 2000
MIN_DF = 2
TFIDF_C_GRID: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
"""Half-decade steps around where sublinear, L2-normalised tf-idf rows put the best C (1-30)."""
E5_C_GRID: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
"""One step further up: e5 embeddings are unit vectors crowded in a narrow cone, so a probe can need a
weaker penalty (CV optima on 300-row samples of the six sets: 1-100; more rows tend to move it up)."""


@dataclass(frozen=True)
class TrainedBaseline:
    """A feature extractor plus a logistic regression whose C is chosen on train, fitted per set."""

    name: str
    features: Features
    c_grid: tuple[float, ...]


@dataclass(frozen=True)
class BaselineFit:
    """One trained baseline on one set: the chosen C, its CV score, and its answer for each dev text."""

    name: str
    c: float
    c_grid: tuple[float, ...]
    scoring: Scoring
    cv_score: float  # mean over the folds at the chosen C
    train_rows: int
    seconds: float  # features (embedding included, cached or not), cross-validation and refit
    labels: list[str]


def tfidf_vectorizer(language: Language) -> TfidfVectorizer | FeatureUnion:
    """The TF-IDF features of the baseline for `language` (see the module docstring)."""
    from sklearn.pipeline import FeatureUnion

    if language == "zh":
        return _tfidf("char", (1, 3))
    return FeatureUnion([("words", _tfidf("word", (1, 2))), ("chars", _tfidf("char_wb", (2, 5)))])


def _tfidf(analyzer: str, ngram_range: tuple[int, int]) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, sublinear_tf=True, min_df=MIN_DF)


def tfidf_features(train: Sequence[str], dev: Sequence[str], language: Language) -> tuple[Any, Any]:
    """TF-IDF matrices of `train` and `dev`, the vocabulary and idf fitted on `train` alone."""
    vectorizer = tfidf_vectorizer(language)
    return vectorizer.fit_transform(train), vectorizer.transform(dev)


def e5_features(encoder: Encoder, *, cache_dir: Path | None) -> Features:
    """The standard e5 sentence embedding of the frozen encoder, cached under `cache_dir` when given.

    Embedding the ~66k train texts of the shared sets takes ~25 min on two cores; the cache (the directory
    `vocwatch train` uses, entries keyed by encoder, layers and texts) makes every later report reuse them.
    """
    from sentiment.embedding_cache import pooled_features
    from sentiment.encoder import l2_normalise

    def embed(texts: Sequence[str]) -> Any:
        pooled = pooled_features(encoder, texts, layers=(encoder.num_layers,), cache_dir=cache_dir)
        return l2_normalise(pooled[:, 0, :])

    def features(train: Sequence[str], dev: Sequence[str], language: Language) -> tuple[Any, Any]:
        return embed(train), embed(dev)

    return features


TFIDF_LR = TrainedBaseline(name="TF-IDF+LR", features=tfidf_features, c_grid=TFIDF_C_GRID)
E5_LR_NAME = "frozen e5+LR"


def frozen_e5_lr(encoder: Encoder, *, cache_dir: Path | None) -> TrainedBaseline:
    """The frozen-encoder probe on `encoder` (`Analyzer.encoder`: always its frozen base model)."""
    return TrainedBaseline(
        name=E5_LR_NAME, features=e5_features(encoder, cache_dir=cache_dir), c_grid=E5_C_GRID
    )


def fit_baseline(
    baseline: TrainedBaseline,
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    dev_texts: Sequence[str],
    *,
    language: Language,
    scoring: Scoring,
) -> BaselineFit:
    """Fit `baseline` on the train split (C by cross-validation on it) and answer each dev text.

    Raises TrainSplitError when the train split cannot be cross-validated (see `fit_logistic_cv`).
    """
    if len(train_texts) != len(train_labels):
        raise ValueError("train texts and labels differ in length")
    if not dev_texts:
        raise ValueError("no dev texts to answer")
    started = time.monotonic()
    x_train, x_dev = baseline.features(train_texts, dev_texts, language)
    fitted = fit_logistic_cv(x_train, train_labels, baseline.c_grid, scoring)
    with _quiet_single_thread():
        labels = [str(label) for label in fitted.model.predict(x_dev)]
    return BaselineFit(
        name=baseline.name,
        c=fitted.c,
        c_grid=baseline.c_grid,
        scoring=scoring,
        cv_score=fitted.cv_score,
        train_rows=len(train_texts),
        seconds=time.monotonic() - started,
        labels=labels,
    )


@dataclass(frozen=True)
class LogisticFit:
    """A logistic regression refitted on all rows at the C that cross-validation chose."""

    model: Any  # sklearn.linear_model.LogisticRegressionCV
    c: float
    cv_score: float  # mean over the folds at the chosen C


def fit_logistic_cv(x: Any, labels: Sequence[str], c_grid: Sequence[float], scoring: Scoring) -> LogisticFit:
    """Logistic regression with C chosen from `c_grid` by 5-fold stratified CV on these rows only.

    Raises TrainSplitError when the rows cannot be cross-validated: fewer than two classes, or a class
    with fewer rows than folds. A model that could not choose its C honestly is no baseline.
    """
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    _check_cross_validatable(labels)
    model = LogisticRegressionCV(
        Cs=list(c_grid),
        cv=StratifiedKFold(CV_FOLDS, shuffle=True, random_state=CV_SEED),
        scoring=scoring,
        solver="lbfgs",
        max_iter=MAX_ITER,
    )
    with _quiet_single_thread():
        model.fit(x, np.asarray(labels))
    c = float(np.ravel(model.C_)[0])
    return LogisticFit(model=model, c=c, cv_score=_cv_score(model, c))


@contextmanager
def _quiet_single_thread() -> Iterator[None]:
    """One BLAS/OpenMP thread, and scikit-learn's announcements of future defaults silenced.

    One thread: the parallel sections of these small solves are too short to gain from a second one, and
    on a machine already busy with a model their spin-waits made a fit up to 20x slower (measured).
    scikit-learn 1.8-1.9 announce new defaults for l1_ratios and the fitted attributes' layout; the
    defaults here are right either way (one L2 penalty) and `_cv_score` reads both layouts.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no type hints

    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"sklearn\.linear_model")
        yield


def _check_cross_validatable(labels: Sequence[str]) -> None:
    counts = Counter(labels)
    if len(counts) < 2:
        raise TrainSplitError(f"the train split has one class only ({', '.join(counts) or 'no rows'})")
    thin = sorted(label for label, n in counts.items() if n < CV_FOLDS)
    if thin:
        raise TrainSplitError(
            f"classes with fewer train rows than the {CV_FOLDS} CV folds: {', '.join(thin)}"
        )


def _cv_score(model: Any, c: float) -> float:
    """Mean fold score at the chosen C, whichever layout this scikit-learn version gives `scores_`."""
    scores = model.scores_
    grid = np.ravel(model.Cs_)
    folds = np.asarray(next(iter(scores.values())) if isinstance(scores, dict) else scores)
    folds = folds.reshape(folds.shape[0], -1)  # (folds, Cs) in both layouts for one l1_ratio
    return float(folds[:, int(np.flatnonzero(grid == c)[0])].mean())
