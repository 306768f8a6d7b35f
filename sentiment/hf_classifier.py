"""Any Hugging Face sequence-classification model as the sentiment scorer, instead of the committed head.

Users with a model they trust (a Twitter-RoBERTa sentiment model, an in-house fine-tune) point
configuration at its directory; topics, aspects and churn still run on the e5 encoder, only the
sentiment probabilities come from this model. Its labels are read from `config.id2label` and mapped onto
the three sentiment labels: names like "negative"/"NEG"/"Negative", "1 star".."5 stars", and the
anonymous `LABEL_0..` of checkpoints that never set names (3 classes: negative, neutral, positive, the
cardiffnlp order; 2 classes: negative, positive). Probabilities of classes mapped to the same label add up.

Nothing is downloaded: a hub id is only resolved from the local Hugging Face cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import regex
import torch
from numpy.typing import NDArray
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from sentiment.encoder import DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH, directory_version, length_sorted_batches
from sentiment.errors import ModelFormatError, ModelNotFoundError
from sentiment.types import SentimentLabel

_NAMED = {
    "negative": SentimentLabel.NEGATIVE,
    "neg": SentimentLabel.NEGATIVE,
    "bad": SentimentLabel.NEGATIVE,
    "neutral": SentimentLabel.NEUTRAL,
    "neu": SentimentLabel.NEUTRAL,
    "mixed": SentimentLabel.NEUTRAL,
    "positive": SentimentLabel.POSITIVE,
    "pos": SentimentLabel.POSITIVE,
    "good": SentimentLabel.POSITIVE,
}
_STARS = regex.compile(r"^([1-5])\s*stars?$")
_ANONYMOUS = regex.compile(r"^label_(\d+)$")
_BY_POSITION = {
    2: (SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE),
    3: (SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE),
}


def map_labels(id2label: Mapping[int, str]) -> tuple[SentimentLabel, ...]:
    """The sentiment label of each output index; raises `ModelFormatError` for labels it cannot read."""
    n = len(id2label)
    if sorted(id2label) != list(range(n)):
        raise ModelFormatError(f"id2label must number its classes 0..{n - 1}, got {sorted(id2label)}")
    names = [str(id2label[i]).strip().lower() for i in range(n)]
    if all(_ANONYMOUS.match(name) for name in names):
        if n not in _BY_POSITION:
            raise ModelFormatError(f"cannot map {n} anonymous labels onto negative/neutral/positive")
        return _BY_POSITION[n]
    mapped: list[SentimentLabel] = []
    for name in names:
        stars = _STARS.match(name)
        if stars:
            count = int(stars.group(1))
            mapped.append(
                SentimentLabel.NEGATIVE
                if count <= 2
                else SentimentLabel.NEUTRAL
                if count == 3
                else SentimentLabel.POSITIVE
            )
        elif name in _NAMED:
            mapped.append(_NAMED[name])
        else:
            raise ModelFormatError(
                f"label {id2label[len(mapped)]!r} is not a sentiment label; expected names such as "
                "negative/neutral/positive, neg/pos, LABEL_0.. or '1 star'..'5 stars'"
            )
    if SentimentLabel.NEGATIVE not in mapped or SentimentLabel.POSITIVE not in mapped:
        raise ModelFormatError(f"labels {names} need at least a negative and a positive class")
    return tuple(mapped)


@dataclass(frozen=True, eq=False)  # holds a torch module: compare by identity
class SequenceClassifier:
    """A sequence-classification model and its tokenizer, scoring texts into the three sentiment labels."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    label_map: tuple[SentimentLabel, ...]
    version: str
    max_length: int = DEFAULT_MAX_LENGTH

    @classmethod
    def load(cls, source: str | Path, *, max_length: int = DEFAULT_MAX_LENGTH) -> SequenceClassifier:
        """Load a local model directory, or a hub id already in the local cache (never downloads)."""
        path = Path(source).expanduser()
        local = path.is_dir()
        if local and not (path / "config.json").is_file():
            raise ModelNotFoundError(f"no transformers model in {path} (config.json missing)")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path if local else str(source), local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(
                path if local else str(source), local_files_only=True
            )
        except OSError as error:
            raise ModelNotFoundError(
                f"classifier {source!r} is neither a model directory nor in the local Hugging Face cache "
                f"({error.__class__.__name__}); download it once where there is network, then point at it"
            ) from None
        model.eval()
        label_map = map_labels({int(k): str(v) for k, v in model.config.id2label.items()})
        version = directory_version(path) if local else str(source).replace("/", "--")
        limit = int(getattr(tokenizer, "model_max_length", max_length) or max_length)
        return cls(
            model=model,
            tokenizer=tokenizer,
            label_map=label_map,
            version=f"hf:{version}",
            max_length=min(max_length, limit),
        )

    def predict_proba(
        self, texts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> NDArray[np.float32]:
        """Probabilities in `SentimentLabel` order (negative, neutral, positive), shape (len(texts), 3)."""
        out = np.zeros((len(texts), len(SentimentLabel)), dtype=np.float32)
        if not texts:
            return out
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        ids: list[list[int]] = encoded["input_ids"]
        columns = [list(SentimentLabel).index(label) for label in self.label_map]
        for batch in length_sorted_batches([len(row) for row in ids], batch_size):
            padded = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(
                    input_ids=padded["input_ids"], attention_mask=padded["attention_mask"]
                ).logits
            probabilities = torch.softmax(logits.float(), dim=-1).numpy()
            for k, column in enumerate(columns):
                out[batch, column] += probabilities[:, k]
        return out
