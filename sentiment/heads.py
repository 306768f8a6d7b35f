"""Small classifier heads on top of frozen encoder features: fit, predict, save, load.

A head is a softmax classifier, either linear (multinomial logistic regression) or with one hidden layer,
over features built from the encoder's mean-pooled layers (`FeatureSpec`). Inputs are standardised with a
mean and scale learned at fit time, stored with the weights.

On disk a head is two files in its own directory:
- `head.safetensors`: the tensors (no code runs on load, unlike pickle/joblib);
- `head.json`: labels, dimensions, feature spec, the encoder version it was trained on, the softmax
  temperature (calibration, see `sentiment.calibration`), its own version (a hash of its weights and
  temperature, so a retrain that changes nothing keeps the version) and the provenance (data hash, row
  counts, dev figures, calibration figures, the command that reproduces it).

Inference is plain numpy: a 3x384 matmul does not need torch. Training uses torch (LBFGS for the linear
head, AdamW for the hidden layer), fine on a CPU at these sizes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from safetensors.numpy import load_file, save_file

from sentiment.calibration import softmax
from sentiment.encoder import l2_normalise
from sentiment.errors import ModelFormatError, ModelNotFoundError

HEAD_FORMAT = "vocwatch-head"
HEAD_FORMAT_VERSION = 1
WEIGHTS_FILE = "head.safetensors"
META_FILE = "head.json"


@dataclass(frozen=True)
class FeatureSpec:
    """Which pooled layers a head reads: each is L2-normalised, then they are concatenated.

    `(12,)` on a 12-layer e5 is exactly the standard e5 sentence embedding. `branch` says whose layers:
    the frozen encoder's (`base`) or the fine-tuned top layers' (`tuned`, see `sentiment.tuned`), where
    layers up to the branch's first one are the shared base layers.
    """

    layers: tuple[int, ...]
    branch: Literal["base", "tuned"] = "base"

    def build(self, pooled: NDArray[np.float32]) -> NDArray[np.float32]:
        """Turn pooled layers, shape (n, len(layers), dim), into the head's input (n, len(layers) * dim)."""
        if pooled.ndim != 3 or pooled.shape[1] != len(self.layers):
            raise ValueError(
                f"expected pooled features of shape (n, {len(self.layers)}, dim), got {pooled.shape}"
            )
        return l2_normalise(pooled).reshape(pooled.shape[0], -1)

    def select(self, pooled: NDArray[np.float32], available: Sequence[int]) -> NDArray[np.float32]:
        """Pick this spec's layers out of features pooled for `available` layers (e.g. the training cache)."""
        index = [list(available).index(layer) for layer in self.layers]
        return pooled[:, index, :]


@dataclass(frozen=True, eq=False)  # numpy fields: compare `version` instead
class ClassifierHead:
    """Softmax classifier over encoder features; linear when `hidden` weights are absent.

    `temperature` divides the logits in `predict_proba` (1.0: uncalibrated); it never changes `predict`.
    """

    labels: tuple[str, ...]
    features: FeatureSpec
    input_mean: NDArray[np.float32]
    input_scale: NDArray[np.float32]
    weights: tuple[NDArray[np.float32], ...]  # (out, in) per layer: 1 layer = linear, 2 = one hidden layer
    biases: tuple[NDArray[np.float32], ...]
    name: str = "head"
    encoder_version: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ModelFormatError(f"head temperature must be a positive number, got {self.temperature}")
        if len(self.weights) not in (1, 2) or len(self.weights) != len(self.biases):
            raise ModelFormatError("a head has one (linear) or two (hidden layer) weight matrices")
        if self.weights[-1].shape[0] != len(self.labels):
            raise ModelFormatError(
                f"head outputs {self.weights[-1].shape[0]} classes but names {len(self.labels)}"
            )
        if self.weights[0].shape[1] != self.input_dim:
            raise ModelFormatError("head input width does not match its standardisation vectors")

    @property
    def input_dim(self) -> int:
        return int(self.input_mean.shape[0])

    @property
    def kind(self) -> str:
        """`linear` or `mlp`."""
        return "linear" if len(self.weights) == 1 else "mlp"

    @property
    def version(self) -> str:
        """`<name>-<kind>.<hash of weights>`: changes exactly when the head's behaviour can change."""
        digest = hashlib.sha256()
        digest.update(json.dumps([self.labels, self.features.layers]).encode())
        if self.features.branch != "base":  # heads on the frozen encoder keep the versions they had
            digest.update(self.features.branch.encode())
        if self.temperature != 1.0:  # an uncalibrated head keeps the version it had before calibration
            digest.update(repr(self.temperature).encode())
        for array in (self.input_mean, self.input_scale, *self.weights, *self.biases):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        return f"{self.name}-{self.kind}.{digest.hexdigest()[:8]}"

    def logits(self, inputs: NDArray[np.float32]) -> NDArray[np.float32]:
        """Raw class scores for head inputs (see `FeatureSpec.build`), shape (n, len(labels))."""
        if inputs.ndim != 2 or inputs.shape[1] != self.input_dim:
            raise ValueError(f"expected inputs of shape (n, {self.input_dim}), got {inputs.shape}")
        x: NDArray[np.float32] = ((inputs - self.input_mean) / self.input_scale).astype(np.float32)
        if len(self.weights) == 2:
            x = _gelu(x @ self.weights[0].T + self.biases[0])
        out: NDArray[np.float32] = (x @ self.weights[-1].T + self.biases[-1]).astype(np.float32)
        return out

    def predict_proba(self, inputs: NDArray[np.float32]) -> NDArray[np.float32]:
        """Calibrated class probabilities (logits / `temperature`), rows summing to 1, in `labels` order."""
        return softmax(self.logits(inputs), self.temperature)

    def predict(self, inputs: NDArray[np.float32]) -> list[str]:
        """The most probable label per row."""
        return [self.labels[i] for i in self.logits(inputs).argmax(axis=1)]

    # ---------------------------------------------------------------- persistence

    def save(self, directory: Path, *, dtype: type[np.floating[Any]] = np.float32) -> None:
        """Write `head.safetensors` + `head.json` into `directory` (created if needed).

        With `dtype=np.float16` the file is half the size; the version is computed from the stored
        values, so a loaded head reports the same version as the one written.
        """
        stored = self.rounded(dtype)
        tensors = {"input.mean": stored.input_mean, "input.scale": stored.input_scale}
        for i, (w, b) in enumerate(zip(stored.weights, stored.biases, strict=True)):
            tensors[f"layers.{i}.weight"] = w
            tensors[f"layers.{i}.bias"] = b
        directory.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: np.ascontiguousarray(v, dtype=dtype) for k, v in tensors.items()}, directory / WEIGHTS_FILE
        )
        (directory / META_FILE).write_text(
            json.dumps(stored._meta(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )

    def rounded(self, dtype: type[np.floating[Any]]) -> ClassifierHead:
        """The head as it will be after saving with `dtype` (evaluate this one to report honest figures)."""
        return self._replace(
            input_mean=_round_trip(self.input_mean, dtype),
            input_scale=_round_trip(self.input_scale, dtype),
            weights=tuple(_round_trip(a, dtype) for a in self.weights),
            biases=tuple(_round_trip(a, dtype) for a in self.biases),
        )

    def _meta(self) -> dict[str, Any]:
        return {
            "format": HEAD_FORMAT,
            "format_version": HEAD_FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "labels": list(self.labels),
            "input_dim": self.input_dim,
            "hidden_dim": int(self.weights[0].shape[0]) if len(self.weights) == 2 else None,
            "activation": "gelu" if len(self.weights) == 2 else None,
            "features": {
                "pooling": "mean",
                "layers": list(self.features.layers),
                "normalize": "l2-per-layer",
                "branch": self.features.branch,
            },
            "encoder_version": self.encoder_version,
            "temperature": self.temperature,
            **{k: v for k, v in self.metadata.items() if k not in _RESERVED_META},
        }

    @classmethod
    def load(cls, directory: Path) -> ClassifierHead:
        """Read a head written by `save`; refuses files of another format or version."""
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not weights_path.is_file() or not meta_path.is_file():
            raise ModelNotFoundError(f"no head in {directory} (expected {META_FILE} and {WEIGHTS_FILE})")
        meta: Mapping[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != HEAD_FORMAT or meta.get("format_version") != HEAD_FORMAT_VERSION:
            raise ModelFormatError(f"{meta_path} is not a {HEAD_FORMAT} v{HEAD_FORMAT_VERSION} file")
        tensors = {k: v.astype(np.float32) for k, v in load_file(weights_path).items()}
        n_layers = 2 if "layers.1.weight" in tensors else 1
        try:
            head = cls(
                labels=tuple(str(label) for label in meta["labels"]),
                features=FeatureSpec(
                    layers=tuple(int(layer) for layer in meta["features"]["layers"]),
                    branch="tuned" if meta["features"].get("branch") == "tuned" else "base",
                ),
                input_mean=tensors["input.mean"],
                input_scale=tensors["input.scale"],
                weights=tuple(tensors[f"layers.{i}.weight"] for i in range(n_layers)),
                biases=tuple(tensors[f"layers.{i}.bias"] for i in range(n_layers)),
                name=str(meta.get("name", directory.name)),
                encoder_version=str(meta.get("encoder_version", "")),
                metadata={k: v for k, v in meta.items() if k not in _RESERVED_META},
                temperature=float(meta.get("temperature", 1.0)),
            )
        except KeyError as missing:
            raise ModelFormatError(f"head in {directory} lacks {missing}") from None
        if meta.get("version") and meta["version"] != head.version:
            raise ModelFormatError(
                f"{weights_path} does not match the version in {META_FILE} (edited by hand?)"
            )
        return head

    # ---------------------------------------------------------------- training

    @classmethod
    def fit(
        cls,
        inputs: NDArray[np.float32],
        targets: Sequence[str],
        *,
        labels: Sequence[str],
        features: FeatureSpec,
        sample_weight: NDArray[np.float32] | None = None,
        hidden_dim: int | None = None,
        l2: float = 1e-3,
        epochs: int = 40,
        seed: int = 0,
        name: str = "head",
        encoder_version: str = "",
        anchor: ClassifierHead | None = None,
    ) -> ClassifierHead:
        """Fit on head inputs (see `FeatureSpec.build`) with string targets drawn from `labels`.

        `sample_weight` lets the caller balance classes and sets. Linear heads minimise weighted
        cross-entropy + `l2`·‖W‖² to convergence with LBFGS (deterministic); MLP heads train with AdamW,
        dropout and weight decay `l2` for `epochs` epochs. With a linear `anchor` (the head being refitted,
        e.g. with CX corrections added) the fit starts from its weights, keeps its input standardisation
        and penalises `l2`·‖W − W_anchor‖² instead: what the anchor learned from rows the refit may not
        have (or fewer of) is kept unless the new rows argue against it (L2-SP, Li et al. 2018).
        """
        index = {label: i for i, label in enumerate(labels)}
        unknown = sorted({t for t in targets if t not in index})
        if unknown:
            raise ValueError(f"targets {unknown} are not among labels {list(labels)}")
        if len(targets) != inputs.shape[0]:
            raise ValueError("inputs and targets differ in length")
        if anchor is not None and (anchor.kind != "linear" or hidden_dim is not None):
            raise ValueError("only a linear head can be refitted from an anchor")
        if anchor is not None:
            mean, scale = anchor.input_mean, anchor.input_scale
        else:
            mean = inputs.mean(axis=0).astype(np.float32)
            scale = (inputs.std(axis=0) + 1e-6).astype(np.float32)
        torch.manual_seed(seed)
        x = torch.from_numpy(((inputs - mean) / scale).astype(np.float32))
        y = torch.tensor([index[t] for t in targets], dtype=torch.long)
        w = (
            torch.ones(len(targets))
            if sample_weight is None
            else torch.from_numpy(sample_weight.astype(np.float32))
        )
        w = w / w.mean()
        if hidden_dim is None:
            start = None if anchor is None else (anchor.weights[0], anchor.biases[0])
            weights, biases = _fit_linear(x, y, w, n_classes=len(labels), l2=l2, start=start)
        else:
            weights, biases = _fit_mlp(
                x, y, w, n_classes=len(labels), hidden_dim=hidden_dim, l2=l2, epochs=epochs, seed=seed
            )
        return cls(
            labels=tuple(labels),
            features=features,
            input_mean=mean,
            input_scale=scale,
            weights=weights,
            biases=biases,
            name=name,
            encoder_version=encoder_version,
        )

    def with_temperature(self, temperature: float) -> ClassifierHead:
        """A copy whose probabilities are calibrated with `temperature` (see `sentiment.calibration`)."""
        return self._replace(temperature=temperature)

    def with_metadata(self, **metadata: Any) -> ClassifierHead:
        """A copy carrying extra provenance (training data hash, dev figures, command) into head.json."""
        return self._replace(metadata={**self.metadata, **metadata})

    def _replace(self, **changes: Any) -> ClassifierHead:
        return dataclasses.replace(self, **changes)


_RESERVED_META = frozenset(
    {
        "format",
        "format_version",
        "name",
        "version",
        "kind",
        "labels",
        "input_dim",
        "hidden_dim",
        "activation",
        "features",
        "encoder_version",
        "temperature",
    }
)


def _gelu(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Exact (erf) GELU, the same function as `torch.nn.GELU()` used in training."""
    return torch.nn.functional.gelu(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()


def _round_trip(array: NDArray[np.float32], dtype: type[np.floating[Any]]) -> NDArray[np.float32]:
    return np.asarray(array, dtype=dtype).astype(np.float32)


def _fit_linear(
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    *,
    n_classes: int,
    l2: float,
    start: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None,
) -> tuple[tuple[NDArray[np.float32], ...], tuple[NDArray[np.float32], ...]]:
    """LBFGS to convergence; from zeros with an L2 penalty, or from `start` with a penalty toward it."""
    layer = torch.nn.Linear(x.shape[1], n_classes)
    centre = torch.zeros_like(layer.weight)
    with torch.no_grad():
        if start is None:
            layer.weight.zero_()
            layer.bias.zero_()
        else:
            centre = torch.from_numpy(start[0].astype(np.float32))
            layer.weight.copy_(centre)
            layer.bias.copy_(torch.from_numpy(start[1].astype(np.float32)))
    optimizer = torch.optim.LBFGS(
        layer.parameters(),
        lr=1.0,
        max_iter=500,
        tolerance_grad=1e-6,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (torch.nn.functional.cross_entropy(layer(x), y, reduction="none") * w).mean()
        loss = loss + l2 * (layer.weight - centre).pow(2).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return (layer.weight.detach().numpy().copy(),), (layer.bias.detach().numpy().copy(),)


def _fit_mlp(
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    *,
    n_classes: int,
    hidden_dim: int,
    l2: float,
    epochs: int,
    seed: int,
) -> tuple[tuple[NDArray[np.float32], ...], tuple[NDArray[np.float32], ...]]:
    hidden = torch.nn.Linear(x.shape[1], hidden_dim)
    output = torch.nn.Linear(hidden_dim, n_classes)
    net = torch.nn.Sequential(torch.nn.Dropout(0.1), hidden, torch.nn.GELU(), torch.nn.Dropout(0.2), output)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=l2)
    batch = max(16, min(256, x.shape[0] // 16))  # enough steps per epoch for small sets too
    steps = epochs * math.ceil(x.shape[0] / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(x.shape[0], generator=generator)
        for start in range(0, x.shape[0], batch):
            idx = order[start : start + batch]
            loss = (torch.nn.functional.cross_entropy(net(x[idx]), y[idx], reduction="none") * w[idx]).mean()
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            schedule.step()
    net.eval()
    return (
        (hidden.weight.detach().numpy().copy(), output.weight.detach().numpy().copy()),
        (hidden.bias.detach().numpy().copy(), output.bias.detach().numpy().copy()),
    )
