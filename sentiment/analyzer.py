"""The analyzer: a frozen dataclass of parts (encoder + heads) that turns texts into `Analysis` results.

Composition, not inheritance (after setfit's `SetFitModel(body, head)` and `AbsaModel(...)`): each part is
built, tested and versioned on its own, and later parts (topics, aspects, churn, language) join as new
fields without changing the callers, who only ever see `analyze(texts) -> list[Analysis]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sentiment.encoder import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, Encoder
from sentiment.errors import ModelFormatError
from sentiment.heads import ClassifierHead
from sentiment.types import Analysis, SentimentLabel

SENTIMENT_HEAD = "sentiment"


def default_heads_dir() -> Path:
    """The heads committed to the repository and shipped inside the package (`sentiment/heads/`)."""
    return Path(str(files("sentiment") / "heads"))


@dataclass(frozen=True, eq=False)  # parts hold torch modules: compare by identity
class Analyzer:
    """Encoder plus the sentiment head; `analyze` is the only call most users need."""

    encoder: Encoder
    sentiment: ClassifierHead
    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        check_compatible(self.encoder, self.sentiment)

    @property
    def model_version(self) -> str:
        """Encoder (weights + conversion) and head versions, recorded on every analysis."""
        return f"{self.encoder.version}+{self.sentiment.version}"

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        """Analyse each text; results come back in input order, one per text."""
        if isinstance(texts, str):
            raise TypeError("analyze takes a sequence of texts, not one string")
        if not texts:
            return []
        layers = self.sentiment.features.layers
        pooled = self.encoder.pool_layers(texts, layers=layers, batch_size=self.batch_size)
        probabilities = self.sentiment.predict_proba(self.sentiment.features.build(pooled))
        labels = [SentimentLabel(label) for label in self.sentiment.labels]
        version = self.model_version
        return [
            Analysis.from_probabilities(
                dict(zip(labels, (float(p) for p in row), strict=True)), model_version=version
            )
            for row in probabilities
        ]


def check_compatible(encoder: Encoder, head: ClassifierHead) -> None:
    """Refuse a head trained on another encoder: the dimensions might match and the outputs be noise."""
    if head.encoder_version and head.encoder_version != encoder.version:
        raise ModelFormatError(
            f"head {head.name!r} was trained on encoder {head.encoder_version!r} but the model directory "
            f"holds {encoder.version!r}; retrain it (python -m sentiment train) or point heads_dir at "
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
) -> Analyzer:
    """Load the encoder from `model_dir` and the heads from `heads_dir` (default: the packaged heads).

    `model_dir` is a transformers directory, typically the one `prepare_default_model` returned.
    """
    heads = heads_dir if heads_dir is not None else default_heads_dir()
    sentiment = ClassifierHead.load(heads / SENTIMENT_HEAD)
    encoder = Encoder.load(model_dir, max_length=max_length)
    return Analyzer(encoder=encoder, sentiment=sentiment, batch_size=batch_size)
