"""The encoder's fine-tuned top layers: a second copy of layers k+1..n that reads what layer k computed.

Why a branch and not a replacement: topics and churn compare the text with phrases by cosine similarity in
e5's own embedding space, which fine-tuning for sentiment would bend. So the frozen encoder runs as before
(its last layer still gives the e5 sentence embedding), and the tuned layers run once more from the hidden
states of layer `first`; sentiment and aspect heads read the branch (`FeatureSpec.branch == "tuned"`).
Tuning the top 4 of 12 layers costs a third more compute per text and keeps every lower layer shared.

On disk (next to the heads, `heads/encoder/`): `tuned.safetensors` (the branch's weights, fp16, named as in
the transformers state dict of one layer: `layers.<j>.attention.self.query.weight`, ...) and `tuned.json`
(the layer they start from, the base encoder version they were tuned on, their own version = hash of the
weights, and the training record). Loading runs no code (no pickles).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import PreTrainedModel
from transformers.masking_utils import create_bidirectional_mask

from sentiment.errors import ModelFormatError, ModelNotFoundError

TUNED_DIR = "encoder"
WEIGHTS_FILE = "tuned.safetensors"
META_FILE = "tuned.json"
TUNED_FORMAT = "vocwatch-tuned-layers"
TUNED_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)  # holds torch modules: compare `version`
class TunedLayers:
    """Tuned copies of the encoder's layers `first + 1 .. first + len(layers)` (1-based hidden-state index).

    `hidden_states[first]` of the base model goes in; the output of each tuned layer comes out, so the
    branch's layer `first + j + 1` is `forward(...)[j]`.
    """

    layers: torch.nn.ModuleList
    first: int
    base_version: str
    version: str  # `weights_version` of the float weights (an int8 copy keeps the version it came from)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> int:
        """Hidden-state index of the branch's output (= the base encoder's number of layers)."""
        return self.first + len(self.layers)

    @classmethod
    def copy_of(cls, model: PreTrainedModel, *, first: int, base_version: str) -> TunedLayers:
        """A branch that is an exact copy of the base model's layers above `first` (where training starts)."""
        body = body_layers(model)
        if not 0 <= first < len(body):
            raise ValueError(f"first must be in 0..{len(body) - 1}, not {first}")
        layers = torch.nn.ModuleList(copy.deepcopy(layer) for layer in body[first:])
        return cls(layers, first, base_version, weights_version(layers, first))

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor, config: Any) -> list[torch.Tensor]:
        """Run the branch from `hidden` (batch, tokens, dim); returns each tuned layer's output in order.

        `attention_mask` is the 0/1 padding mask; it is expanded the way the model itself does it.
        """
        return run_layers(self.layers, hidden, attention_mask, config)

    def save(self, directory: Path, *, metadata: Mapping[str, Any] | None = None) -> TunedLayers:
        """Write fp16 weights + `tuned.json`; returns the branch as stored (fp16-rounded), with `metadata`."""
        stored = self.rounded()
        if metadata is not None:
            stored = dataclasses.replace(stored, metadata=dict(metadata))
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {
            f"layers.{name}": tensor.detach().to(torch.float16).contiguous()
            for name, tensor in stored.layers.state_dict().items()
        }
        save_file(tensors, directory / WEIGHTS_FILE)
        meta = {
            "format": TUNED_FORMAT,
            "format_version": TUNED_FORMAT_VERSION,
            "version": stored.version,
            "first": stored.first,
            "layers": len(stored.layers),
            "base_version": stored.base_version,
            **stored.metadata,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return stored

    def rounded(self) -> TunedLayers:
        """A copy with every weight rounded through fp16, as `save` stores it (evaluate this one)."""
        layers = copy.deepcopy(self.layers)
        with torch.no_grad():
            for tensor in layers.state_dict().values():
                tensor.copy_(tensor.to(torch.float16).to(tensor.dtype))
        return dataclasses.replace(self, layers=layers, version=weights_version(layers, self.first))

    @classmethod
    def load(cls, directory: Path, model: PreTrainedModel, *, base_version: str) -> TunedLayers:
        """Read a branch written by `save` onto copies of `model`'s top layers; refuses another base model."""
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise ModelNotFoundError(f"no tuned layers in {directory} (expected {META_FILE}, {WEIGHTS_FILE})")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != TUNED_FORMAT or meta.get("format_version") != TUNED_FORMAT_VERSION:
            raise ModelFormatError(f"{meta_path} is not a {TUNED_FORMAT} v{TUNED_FORMAT_VERSION} file")
        if meta.get("base_version") != base_version:
            raise ModelFormatError(
                f"the tuned layers in {directory} were tuned on encoder {meta.get('base_version')!r}, "
                f"not {base_version!r}; retune them (python -m sentiment finetune)"
            )
        branch = cls.copy_of(model, first=int(meta["first"]), base_version=base_version)
        tensors = {k.removeprefix("layers."): v for k, v in load_file(weights_path).items()}
        try:
            branch.layers.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=True)
        except RuntimeError as problem:
            raise ModelFormatError(f"{weights_path} does not fit this encoder: {problem}") from None
        branch.layers.eval()
        version = weights_version(branch.layers, branch.first)
        if meta.get("version") != version:
            raise ModelFormatError(f"{weights_path} does not match the version in {META_FILE}")
        return cls(branch.layers, branch.first, base_version, version, dict(meta))


def run_layers(
    layers: Iterable[torch.nn.Module], hidden: torch.Tensor, attention_mask: torch.Tensor, config: Any
) -> list[torch.Tensor]:
    """Run transformer layers from `hidden` (batch, tokens, dim); each layer's output, in order.

    `attention_mask` is the 0/1 padding mask, expanded the way the model itself expands it.
    """
    mask = create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=attention_mask)
    outputs = []
    for layer in layers:
        hidden = layer(hidden, attention_mask=mask)
        outputs.append(hidden)
    return outputs


def weights_version(layers: torch.nn.ModuleList, first: int) -> str:
    """`tuned<first>.<hash>` of the float weights: changes exactly when the branch's outputs can change."""
    digest = hashlib.sha256(str(first).encode())
    for name, tensor in sorted(layers.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to(torch.float32).numpy().tobytes())
    return f"tuned{first}.{digest.hexdigest()[:8]}"


def body_layers(model: PreTrainedModel) -> torch.nn.ModuleList:
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise ModelFormatError(f"{type(model).__name__} has no encoder.layer list to tune")
    return layers


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token states over real tokens (e5's pooling), shape (batch, dim)."""
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled: torch.Tensor = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    return pooled
