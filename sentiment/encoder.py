"""Texts -> sentence embeddings through transformers (the one place that runs the transformer).

e5 models are trained with a `"query: "` prefix, mean pooling over real tokens, and L2 normalisation; the
embeddings only mean what the heads learned if all three are applied exactly as at training time, so they
live here and nowhere else. Any other `AutoModel` directory works too (tests use a tiny one); the prefix is
then taken from the directory's `vocwatch-model.json` when it has one, else none.

Speed on a CPU comes from not computing padding: texts are tokenised once, sorted by length, batched, and
the results put back in input order. Long texts are truncated (`max_length`), which bounds both latency and
memory; 256 tokens keep ~95% of long Chinese hotel reviews whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import torch
from numpy.typing import NDArray
from transformers import AutoModel, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from sentiment.errors import ModelNotFoundError
from sentiment.prepare import MODEL_INFO_FILE
from sentiment.tuned import TunedLayers, body_layers, run_layers

ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)

DEFAULT_MAX_LENGTH = 256
DEFAULT_BATCH_SIZE = 32

Backend = Literal["torch", "int8"]
"""`torch`: fp32 as converted. `int8`: dynamic int8 quantisation of every Linear layer (weights int8,
activations quantised on the fly): faster on CPUs, embeddings slightly off (see bench/bench_analyzer.py)."""


@dataclass(frozen=True, eq=False)  # holds a torch module: compare by identity
class Encoder:
    """A transformer body plus its tokenizer, producing e5-style sentence embeddings.

    `version` names the weights and their conversion (it ends up in every analysis' `model_version`).
    """

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    version: str
    prefix: str = ""
    max_length: int = DEFAULT_MAX_LENGTH
    backend: Backend = "torch"
    tuned: TunedLayers | None = None

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        prefix: str | None = None,
        backend: Backend = "torch",
        tuned_dir: Path | None = None,
    ) -> Encoder:
        """Load a transformers model directory (config.json + weights + tokenizer) for inference.

        `prefix` overrides the one recorded in the directory's `vocwatch-model.json` (e.g. `"query: "`
        for an e5 checkpoint that was not converted by `prepare`). `version` names the weights whatever
        the backend (heads trained on fp32 embeddings apply to int8 ones); `Analyzer.model_version`
        records the backend. `tuned_dir` holds fine-tuned top layers (`sentiment.tuned`) to run as a branch.
        """
        if not (model_dir / "config.json").is_file():
            raise ModelNotFoundError(f"no transformers model in {model_dir} (config.json missing)")
        info = _read_model_info(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = _load_body(model_dir)
        version = str(info.get("version") or directory_version(model_dir))
        tuned = TunedLayers.load(tuned_dir, model, base_version=version) if tuned_dir is not None else None
        if backend == "int8":
            model = quantize_int8(model)
            if tuned is not None:
                tuned = dataclasses.replace(tuned, layers=quantize_int8(tuned.layers))
        elif backend != "torch":
            raise ValueError(f"backend must be 'torch' or 'int8', not {backend!r}")
        return cls(
            model=model,
            tokenizer=tokenizer,
            version=version,
            prefix=prefix if prefix is not None else str(info.get("query_prefix", "")),
            max_length=min(max_length, _model_max_positions(model)),
            backend=backend,
            tuned=tuned,
        )

    @property
    def dim(self) -> int:
        """Width of the sentence embedding."""
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        """Number of transformer layers; layer indices for `pool_layers` run from 0 (embeddings) to this."""
        return int(self.model.config.num_hidden_layers)

    def encode(self, texts: Sequence[str], *, batch_size: int = DEFAULT_BATCH_SIZE) -> NDArray[np.float32]:
        """Return L2-normalised mean-pooled last-layer embeddings, shape (len(texts), dim), in input order."""
        pooled = self.pool_layers(texts, layers=(self.num_layers,), batch_size=batch_size)[:, 0, :]
        return l2_normalise(pooled)

    def pool_layers(
        self, texts: Sequence[str], *, layers: Sequence[int], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> NDArray[np.float32]:
        """Mean-pool the hidden states of several layers: shape (len(texts), len(layers), dim), raw.

        Layer 0 is the embedding output and `num_layers` the last layer. Heads that look at more than the
        last layer (and the training cache, which keeps several) use this. Always the frozen encoder.
        """
        return self.pool_spans(texts, [()] * len(texts), layers=layers, batch_size=batch_size).base

    def pool_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        layers: Sequence[int],
        tuned_layers: Sequence[int] = (),
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Pools:
        """One pass per text: mean pools of the whole text and of character spans of it (its clauses).

        Rows come per text: the whole text, then each of its `spans` in order. `tuned_layers` are read from
        the tuned branch (`sentiment.tuned`), where layers up to the branch's first one are the shared base
        layers. A span is read from the same pass: its tokens' states at layer `clause_layer` (which saw
        the whole text), with the prefix and special tokens every text has, go once more through the layers
        above it on their own, so that "but the delivery was slow" is not read in the tone of the praise
        before it (pooling the full-text states of a clause did exactly that, see `CLAUSE_LAYER`). A span
        that truncation cut off reads as the whole text.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        if tuned_layers and self.tuned is None:
            raise ValueError("tuned layers asked for, but this encoder has no tuned branch")
        starts = np.cumsum([0, *(1 + len(s) for s in spans)])
        base = np.zeros((int(starts[-1]), len(layers), self.dim), dtype=np.float32)
        tuned = np.zeros((int(starts[-1]), len(tuned_layers), self.dim), dtype=np.float32)
        if not texts:
            return Pools(base, tuned)
        encoded = self.tokenizer(
            [self.prefix + text for text in texts],
            truncation=True,
            max_length=self.max_length,
            return_offsets_mapping=any(spans),
        )
        ids: list[list[int]] = encoded["input_ids"]
        offsets = encoded["offset_mapping"] if any(spans) else [None] * len(texts)
        for batch in length_sorted_batches([len(row) for row in ids], batch_size):
            padded = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
            mask = padded["attention_mask"]
            with torch.inference_mode():
                hidden = self.model(
                    input_ids=padded["input_ids"], attention_mask=mask, output_hidden_states=True
                ).hidden_states
                rows = [int(starts[i]) for i in batch]
                self._pool_into(base, tuned, rows, dict(enumerate(hidden)), mask, layers, tuned_layers)
                clauses = [
                    (int(starts[i]) + 1 + k, j, tokens)
                    for j, i in enumerate(batch)
                    for k, tokens in enumerate(_span_tokens(mask[j], offsets[i], spans[i], len(self.prefix)))
                ]
                if clauses:
                    rows, clause_hidden, clause_mask = self._clause_states(hidden, clauses, layers)
                    self._pool_into(base, tuned, rows, clause_hidden, clause_mask, layers, tuned_layers)
        return Pools(base, tuned)

    @property
    def clause_layer(self) -> int:
        """The layer whose states a clause takes from the whole-text pass (`CLAUSE_LAYER`, or lower)."""
        return min(CLAUSE_LAYER, self.num_layers - 1)

    def _clause_states(
        self,
        hidden: Sequence[torch.Tensor],
        clauses: Sequence[tuple[int, int, torch.Tensor]],
        layers: Sequence[int],
    ) -> tuple[list[int], dict[int, torch.Tensor], torch.Tensor]:
        """Each clause's own sequence: lower layers gathered from the text's pass, upper layers run again."""
        split = self.clause_layer
        longest = max(len(tokens) for _, _, tokens in clauses)
        mask = torch.zeros(len(clauses), longest, dtype=torch.long)
        for c, (_, _, tokens) in enumerate(clauses):
            mask[c, : len(tokens)] = 1

        def gather(states: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(len(clauses), longest, states.shape[-1], dtype=states.dtype)
            for c, (_, j, tokens) in enumerate(clauses):
                out[c, : len(tokens)] = states[j, tokens]
            return out

        states = {layer: gather(hidden[layer]) for layer in {*layers, split} if layer <= split}
        upper = run_layers(body_layers(self.model)[split:], states[split], mask, self.model.config)
        states |= {split + 1 + k: state for k, state in enumerate(upper)}
        return [row for row, _, _ in clauses], states, mask

    def _pool_into(
        self,
        base: NDArray[np.float32],
        tuned: NDArray[np.float32],
        rows: Sequence[int],
        hidden: Mapping[int, torch.Tensor],
        mask: torch.Tensor,
        layers: Sequence[int],
        tuned_layers: Sequence[int],
    ) -> None:
        """Mean-pool (over `mask`) the asked base and tuned layers of sequences into `rows` of the outputs."""
        weights = mask.unsqueeze(-1).to(torch.float32)
        counts = weights.sum(dim=1).clamp(min=1.0)
        branch: list[torch.Tensor] = []
        if tuned_layers and self.tuned is not None:
            branch = self.tuned.forward(hidden[self.tuned.first], mask, self.model.config)
        for out, chosen in (
            (base, [hidden[layer] for layer in layers]),
            (tuned, [self._tuned_state(hidden, branch, layer) for layer in tuned_layers]),
        ):
            for k, states in enumerate(chosen):
                out[rows, k, :] = ((states.float() * weights).sum(dim=1) / counts).numpy()

    def _tuned_state(
        self, hidden: Mapping[int, torch.Tensor], branch: Sequence[torch.Tensor], layer: int
    ) -> torch.Tensor:
        first = self.tuned.first if self.tuned is not None else self.num_layers
        return hidden[layer] if layer <= first else branch[layer - first - 1]


CLAUSE_LAYER = 2
"""Clauses share the whole text's first two layers and are read by the layers above on their own tokens.

Measured on the real model (mixed reviews "The food was delicious, but the delivery was terribly slow."
and its Chinese twin, per-topic labels and `score_aspects`): re-reading clauses from layer 9 (the tuned
branch's start), 6 or 4 left "delivery" unfound or "food" negative, read in the tone of the other clause;
from layer 2 or 0 every answer was right. The lower layers carry little of the sentence's tone."""


@dataclass(frozen=True)
class Pools:
    """Mean pools from `Encoder.pool_spans`: (rows, layers, dim) of the base model and of the tuned branch."""

    base: NDArray[np.float32]
    tuned: NDArray[np.float32]


def _span_tokens(
    mask: torch.Tensor,
    offsets: Sequence[tuple[int, int]] | None,
    spans: Sequence[tuple[int, int]],
    prefix: int,
) -> list[torch.Tensor]:
    """Per span, the positions of its tokens plus the prefix and special tokens (in order).

    Token offsets count in the encoded string (prefix + text); special and prefix tokens end at or before
    the prefix. A span with no token left after truncation gets every real token (the whole text).
    """
    if not spans or offsets is None:
        return []
    real = mask.bool()
    begins = torch.zeros(len(real), dtype=torch.long)
    ends = torch.zeros(len(real), dtype=torch.long)
    begins[: len(offsets)] = torch.tensor([begin for begin, _ in offsets], dtype=torch.long)
    ends[: len(offsets)] = torch.tensor([end for _, end in offsets], dtype=torch.long)
    shared = (ends <= prefix) & real
    out = []
    for start, end in spans:
        inside = (begins < end + prefix) & (ends > start + prefix) & real
        out.append(torch.nonzero(shared | inside if inside.any() else real).flatten())
    return out


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group indices into batches of similar length, longest first, so padding costs little.

    Longest first also means a text too long for memory fails on the first batch, not after minutes.
    The caller scatters results back by index, so input order is preserved.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def l2_normalise(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Scale each row to unit length (rows of zeros stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    normalised: NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def _read_model_info(model_dir: Path) -> dict[str, Any]:
    path = model_dir / MODEL_INFO_FILE
    if not path.is_file():
        return {}
    info = json.loads(path.read_text(encoding="utf-8"))
    return info if isinstance(info, dict) else {}


def quantize_int8(model: ModuleT) -> ModuleT:
    """Dynamic int8 quantisation of the Linear layers (~80% of the FLOPs of a transformer layer).

    torch marks eager-mode quantisation as deprecated in favour of torchao; it still works and needs no
    extra dependency, so its deprecation warning is silenced here and only here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            model, {torch.nn.Linear}, dtype=torch.qint8
        )
    return quantized  # type: ignore[no-any-return]


def directory_version(model_dir: Path) -> str:
    """A stable name for a model directory we did not convert: its name plus a hash of its config."""
    digest = hashlib.sha256((model_dir / "config.json").read_bytes()).hexdigest()[:8]
    return f"{model_dir.name}-{digest}"


def _load_body(model_dir: Path) -> PreTrainedModel:
    """Load the encoder without a pooler where the architecture allows it (e5 never uses the pooler)."""
    try:
        model = AutoModel.from_pretrained(model_dir, add_pooling_layer=False)
    except TypeError:  # architectures without a pooler do not take the argument
        model = AutoModel.from_pretrained(model_dir)
    model.eval()
    return model  # type: ignore[no-any-return]


def _model_max_positions(model: PreTrainedModel) -> int:
    """Tokens the model can take; XLM-R reserves two position rows for padding offsets."""
    positions = int(getattr(model.config, "max_position_embeddings", DEFAULT_MAX_LENGTH))
    if getattr(model.config, "model_type", "") in {"xlm-roberta", "roberta", "camembert"}:
        positions -= 2
    return positions
