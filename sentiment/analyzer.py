"""The analyzer: a frozen dataclass of parts that turns texts into `Analysis` results.

Composition, not inheritance (after setfit's `SetFitModel(body, head)` and `AbsaModel(...)`): the encoder,
the sentiment head (or a Hugging Face classifier in its place), the topic index and the churn detector are
each built, tested and versioned on their own; callers only ever see `analyze(texts) -> list[Analysis]`.

One encoder pass serves everything: a text with several clauses is encoded whole and clause by clause in
the same length-sorted batches, and each pooled layer feeds the sentiment head (several layers), topics
and churn (the e5 sentence embedding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sentiment.aspects import LABELS, aspect_input, aspect_probabilities, aspect_query, topics_for_text
from sentiment.churn import ChurnDetector
from sentiment.clauses import clauses_of
from sentiment.encoder import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, Backend, Encoder, Pools, l2_normalise
from sentiment.errors import ModelFormatError
from sentiment.heads import META_FILE, ClassifierHead, FeatureSpec
from sentiment.hf_classifier import SequenceClassifier
from sentiment.language import detect_language, read_language
from sentiment.ngrams import META_FILE as NGRAMS_META_FILE
from sentiment.ngrams import NGRAMS_DIR, CharNgramModel
from sentiment.taxonomy import DEFAULT_TAXONOMY, TopicDefinition
from sentiment.topics import TopicIndex
from sentiment.tuned import META_FILE as TUNED_META_FILE
from sentiment.tuned import TUNED_DIR
from sentiment.types import Analysis, SentimentLabel, TopicScore

SENTIMENT_HEAD = "sentiment"
ASPECT_HEAD = "aspect"


def default_heads_dir() -> Path:
    """The heads committed to the repository and shipped inside the package (`sentiment/heads/`)."""
    return Path(str(files("sentiment") / "heads"))


@dataclass(frozen=True)
class _Units:
    """Texts plus the clauses of multi-clause texts, read in one pass: `rows[i]` = text i's rows.

    Text i's first row is the whole text, the next ones its clauses (`spans[i]`, character spans of it);
    `texts` holds each row's own text (what keyword rules and a replacement classifier read).
    """

    texts: list[str]
    rows: list[list[int]]
    spans: list[list[tuple[int, int]]]

    @classmethod
    def of(cls, texts: Sequence[str], *, clauses: bool = True) -> _Units:
        units: list[str] = []
        rows: list[list[int]] = []
        spans: list[list[tuple[int, int]]] = []
        for text in texts:
            found = clauses_of(text) if clauses else []
            found = found if len(found) > 1 else []
            rows.append(list(range(len(units), len(units) + 1 + len(found))))
            units += [text, *(c.text for c in found)]
            spans.append([(c.start, c.end) for c in found])
        return cls(texts=units, rows=rows, spans=spans)

    @property
    def whole(self) -> list[int]:
        """The row of each whole text, in input order."""
        return [rows[0] for rows in self.rows]


@dataclass(frozen=True, eq=False)  # parts hold torch modules: compare by identity
class Analyzer:
    """Encoder plus the sentiment head; topics and churn when built by `load_analyzer`.

    `classifier`, when set, replaces the head for sentiment (texts and clauses); the encoder still
    serves topics and churn. `aspect`, when set, is the head `score_aspects` uses: it reads the encoded
    pair "<aspect>: <text>" (`aspects.aspect_input`) instead of weighing clauses. `aspects=False` skips
    the clause pass: topics then come from the whole text and share its sentiment, which saves the extra
    encoding of clauses (about 2x the tokens of a text). `ngrams`, when set, adds character n-gram
    evidence to the head's probabilities for texts in its language (`sentiment.ngrams`).
    """

    encoder: Encoder
    sentiment: ClassifierHead
    topics: TopicIndex | None = None
    churn: ChurnDetector | None = None
    classifier: SequenceClassifier | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    aspects: bool = True
    aspect: ClassifierHead | None = None
    ngrams: CharNgramModel | None = None

    def __post_init__(self) -> None:
        check_compatible(self.encoder, self.sentiment)
        if self.aspect is not None:
            check_compatible(self.encoder, self.aspect)

    @property
    def model_version(self) -> str:
        """Encoder (weights + conversion + backend), tuned branch and head versions, on every analysis."""
        backend = "" if self.encoder.backend == "torch" else f"-{self.encoder.backend}"
        if self.classifier is not None:
            return f"{self.encoder.version}{backend}+{self.classifier.version}"
        ngrams = f"+{self.ngrams.version}" if self.ngrams is not None else ""
        return (
            f"{encoder_version_of(self.encoder, self.sentiment.features)}{backend}"
            f"+{self.sentiment.version}{ngrams}"
        )

    @property
    def taxonomy_version(self) -> str | None:
        """Hash of the topic taxonomy in use (`None` without topics)."""
        return self.topics.version if self.topics is not None else None

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """Analyse each text; results come back in input order, one per text."""
        _refuse_single_string(texts)
        if not texts:
            return []
        units = _Units.of(texts, clauses=self.aspects)
        probabilities, vectors = self._read(units)
        topics = self._topics(units, vectors, probabilities, len(texts))
        whole = units.whole
        churn = self._churn(texts, vectors[whole], probabilities[whole])
        version, taxonomy = self.model_version, self.taxonomy_version
        results = []
        for i, text in enumerate(texts):
            reading = read_language(text)
            results.append(
                Analysis.from_probabilities(
                    dict(zip(LABELS, (float(p) for p in probabilities[whole[i]]), strict=True)),
                    model_version=version,
                    lang=reading.lang,
                    churn_risk=churn[i],
                    topics=topics[i],
                    flags=reading.flags,
                    taxonomy_version=taxonomy,
                    embedding=tuple(vectors[whole[i]].tolist()),
                )
            )
        return results

    def score_aspects(self, pairs: Sequence[tuple[str, str]]) -> list[dict[SentimentLabel, float]]:
        """Sentiment of each text toward an aspect (a category name such as "food" or "delivery").

        With an `aspect` head, the head reads each pair it covers (`head_covers`: a category it was
        trained on, in a language it was trained on) encoded as one input (see `aspects.aspect_input`).
        Other pairs, and every pair without that head, are read from the clauses: the clauses most
        similar to the aspect carry the weight of the sentiment head's clause scores (see
        `aspects.aspect_probabilities`). Used for aspect-category evaluation and
        available to callers with their own categories.
        """
        if not pairs:
            return []
        head = self.aspect
        covered = [head is not None and head_covers(head, t, a) for t, a in pairs]
        by_head = iter(self._score_pairs(head, [p for p, c in zip(pairs, covered, strict=True) if c]))
        by_clauses = iter(self._score_by_clauses([p for p, c in zip(pairs, covered, strict=True) if not c]))
        return [next(by_head) if c else next(by_clauses) for c in covered]

    def _score_by_clauses(self, pairs: Sequence[tuple[str, str]]) -> list[dict[SentimentLabel, float]]:
        if not pairs:
            return []
        texts = list(dict.fromkeys(text for text, _ in pairs))
        aspects = list(dict.fromkeys(aspect for _, aspect in pairs))
        units = _Units.of(texts)
        probabilities, vectors = self._read(units)
        aspect_vectors = dict(
            zip(aspects, self.encoder.encode([aspect_query(a) for a in aspects]), strict=True)
        )
        position = {text: i for i, text in enumerate(texts)}
        out = []
        for text, aspect in pairs:
            rows = units.rows[position[text]]
            clauses = rows[1:] or rows
            p = aspect_probabilities(
                aspect,
                aspect_vectors[aspect],
                probabilities[rows[0]],
                vectors[clauses],
                probabilities[clauses],
            )
            out.append(dict(zip(LABELS, (float(v) for v in p), strict=True)))
        return out

    def _score_pairs(
        self, head: ClassifierHead | None, pairs: Sequence[tuple[str, str]]
    ) -> list[dict[SentimentLabel, float]]:
        if head is None or not pairs:
            return []
        inputs = list(dict.fromkeys(aspect_input(text, aspect) for text, aspect in pairs))
        pools = self._pool(inputs, [[] for _ in inputs], head.features)
        probabilities = _in_label_order(
            head, head.predict_proba(head.features.build(_chosen(pools, head.features)))
        )
        row = {text: i for i, text in enumerate(inputs)}
        return [
            dict(zip(LABELS, (float(v) for v in probabilities[row[aspect_input(text, aspect)]]), strict=True))
            for text, aspect in pairs
        ]

    def _topics(
        self, units: _Units, vectors: NDArray[np.float32], probabilities: NDArray[np.float32], n: int
    ) -> list[tuple[TopicScore, ...]]:
        """Per text, its topics with the sentiment of the clauses about them (none without a taxonomy)."""
        if self.topics is None:
            return [()] * n
        scores = self.topics.scores(vectors, units.texts)
        names, threshold = self.topics.names, self.topics.threshold
        return [topics_for_text(units.rows[i], scores, probabilities, names, threshold) for i in range(n)]

    def _churn(
        self, texts: Sequence[str], vectors: NDArray[np.float32], probabilities: NDArray[np.float32]
    ) -> list[float | None]:
        """Per text, its churn risk (`None` without a churn detector), from its whole-text row."""
        if self.churn is None:
            return [None] * len(texts)
        positive = LABELS.index(SentimentLabel.POSITIVE)
        scores = self.churn.scores(vectors, texts, probabilities[:, positive])
        return [round(float(score), 4) for score in scores]

    def _read(self, units: _Units) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Per row, sentiment probabilities (columns in `LABELS` order) and the normalised e5 embedding.

        One pass through the encoder per text; clause rows come from the same pass (`Encoder.pool_spans`).
        """
        head = self.sentiment
        spec = head.features if self.classifier is None else FeatureSpec(layers=())
        pools = self._pool([units.texts[i] for i in units.whole], units.spans, spec)
        vectors = l2_normalise(pools.base[:, -1, :])
        if self.classifier is not None:
            return self.classifier.predict_proba(units.texts, batch_size=self.batch_size), vectors
        probabilities = _in_label_order(head, head.predict_proba(head.features.build(_chosen(pools, spec))))
        if self.ngrams is not None:
            probabilities = self.ngrams.stack(probabilities, units.texts, LABELS)
        return probabilities, vectors

    def _pool(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], spec: FeatureSpec
    ) -> Pools:
        """The pools a head with features `spec` reads, plus the last base layer (the e5 embedding) last."""
        base = spec.layers if spec.branch == "base" else ()
        return self.encoder.pool_spans(
            texts,
            spans,
            layers=(*base, self.encoder.num_layers),
            tuned_layers=spec.layers if spec.branch == "tuned" else (),
            batch_size=self.batch_size,
        )


def _chosen(pools: Pools, spec: FeatureSpec) -> NDArray[np.float32]:
    """The pooled layers `spec` asked `Analyzer._pool` for, in its order."""
    return pools.tuned if spec.branch == "tuned" else pools.base[:, : len(spec.layers)]


def head_covers(head: ClassifierHead, text: str, aspect: str) -> bool:
    """Whether `head.metadata["scope"]` (categories and languages it learned) covers this pair.

    Off its training categories and languages the aspect head was measured to be confidently wrong
    ("delivery" in a restaurant review, a Chinese text), where clause weighting still reads the right clause.
    A head without a recorded scope covers every pair. An undetected language (short texts) counts as in.
    """
    scope = head.metadata.get("scope") or {}
    categories = {aspect_query(c).casefold() for c in scope.get("categories", ())}
    if categories and aspect_query(aspect).casefold() not in categories:
        return False
    languages = set(scope.get("languages", ()))
    lang = detect_language(text)
    return not languages or lang is None or lang in languages


def _in_label_order(head: ClassifierHead, probabilities: NDArray[np.float32]) -> NDArray[np.float32]:
    """A head's probabilities with columns in `LABELS` order (zeros for a label the head lacks)."""
    columns = [head.labels.index(label) if label in head.labels else None for label in LABELS]
    out: NDArray[np.float32] = np.stack(
        [probabilities[:, c] if c is not None else np.zeros(len(probabilities), np.float32) for c in columns],
        axis=1,
    ).astype(np.float32)
    return out


def _refuse_single_string(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise TypeError("analyze takes a sequence of texts, not one string")


def encoder_version_of(encoder: Encoder, features: FeatureSpec) -> str:
    """The version of what a head with `features` reads: the encoder's, plus its tuned branch's if read."""
    if features.branch == "tuned" and encoder.tuned is not None:
        return f"{encoder.version}+{encoder.tuned.version}"
    return encoder.version


def check_compatible(encoder: Encoder, head: ClassifierHead) -> None:
    """Refuse a head trained on another encoder: the dimensions might match and the outputs be noise."""
    if head.features.branch == "tuned" and encoder.tuned is None:
        raise ModelFormatError(
            f"head {head.name!r} reads the tuned layers, but no tuned layers were loaded (heads_dir/encoder)"
        )
    expected_version = encoder_version_of(encoder, head.features)
    if head.encoder_version and head.encoder_version != expected_version:
        raise ModelFormatError(
            f"head {head.name!r} was trained on encoder {head.encoder_version!r} but the model directory "
            f"holds {expected_version!r}; retrain it (python -m sentiment train) or point heads_dir at "
            "heads trained on this encoder"
        )
    if any(layer < 0 or layer > encoder.num_layers for layer in head.features.layers):
        raise ModelFormatError(
            f"head {head.name!r} reads layers {head.features.layers}; the encoder has {encoder.num_layers}"
        )
    expected = len(head.features.layers) * encoder.dim
    if head.input_dim != expected:
        raise ModelFormatError(
            f"head {head.name!r} takes {head.input_dim} inputs, the encoder gives {expected}"
        )
    unknown = set(head.labels) - set(SentimentLabel)
    if unknown:
        raise ModelFormatError(
            f"head {head.name!r} has labels {sorted(unknown)} that are not sentiment labels"
        )


def load_analyzer(
    model_dir: Path,
    *,
    heads_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_length: int = DEFAULT_MAX_LENGTH,
    taxonomy: Sequence[TopicDefinition] | None = None,
    classifier: str | Path | None = None,
    backend: Backend = "torch",
    aspects: bool = True,
) -> Analyzer:
    """Load the encoder from `model_dir`, the heads from `heads_dir` (default: the packaged heads).

    `heads_dir/sentiment` is required; `heads_dir/aspect`, when present, serves `score_aspects`;
    `heads_dir/encoder`, when present, holds the fine-tuned top layers the heads read (`sentiment.tuned`);
    `heads_dir/ngrams`, when present, the Chinese character n-gram model stacked onto the sentiment head.

    `model_dir` is a transformers directory, typically the one `prepare_default_model` returned.
    `taxonomy` None means `DEFAULT_TAXONOMY` (an empty sequence turns topics off). `classifier` names a
    local sequence-classification model directory (or a cached hub id) that replaces the sentiment head.
    `backend="int8"` quantises the encoder's Linear layers (faster on CPU; see bench/bench_analyzer.py).
    `aspects=False` trades per-topic (clause) sentiment for speed on long texts.
    """
    heads = heads_dir if heads_dir is not None else default_heads_dir()
    sentiment = ClassifierHead.load(heads / SENTIMENT_HEAD)
    tuned = heads / TUNED_DIR if (heads / TUNED_DIR / TUNED_META_FILE).is_file() else None
    encoder = Encoder.load(model_dir, max_length=max_length, backend=backend, tuned_dir=tuned)
    check_compatible(encoder, sentiment)  # before embedding the taxonomy: a wrong head fails at once
    aspect = ClassifierHead.load(heads / ASPECT_HEAD) if (heads / ASPECT_HEAD / META_FILE).is_file() else None
    if aspect is not None:
        check_compatible(encoder, aspect)
    ngrams = heads / NGRAMS_DIR

    def embed(texts: Sequence[str]) -> NDArray[np.float32]:
        return encoder.encode(texts, batch_size=batch_size)

    return Analyzer(
        encoder=encoder,
        sentiment=sentiment,
        topics=TopicIndex.build(DEFAULT_TAXONOMY if taxonomy is None else taxonomy, embed),
        churn=ChurnDetector.build(embed),
        classifier=(
            SequenceClassifier.load(classifier, max_length=max_length) if classifier is not None else None
        ),
        batch_size=batch_size,
        aspects=aspects,
        aspect=aspect,
        ngrams=CharNgramModel.load(ngrams) if (ngrams / NGRAMS_META_FILE).is_file() else None,
    )
