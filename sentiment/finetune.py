"""Fine-tune the encoder's top layers on CPU: cache a lower layer's token states once, train the rest on them.

A frozen encoder was the ceiling (a logistic regression on its mean pool read as well as our heads). Full
fine-tuning of e5-small runs at ~3 texts/s on two cores; but the lower layers change least in fine-tuning, so
the token states of layer `first` (8 of 12 by default) are computed once and kept (fp16, unpadded), and each
epoch runs forward and backward through the top layers only: about the cost of one full forward pass.

One branch serves two tasks (multi-task): the 3-way sentiment head (TweetEval teaches neutral, the Chinese
review sets negative vs positive) and the aspect head ("<category>: <text>" pairs of the ACSA sets). Both
heads are linear over the L2-normalised mean pool of the branch's last layer, exactly a `ClassifierHead`
with `FeatureSpec(layers=(n,), branch="tuned")`, so what training optimises is what the analyzer runs.

Selection discipline: a fixed slice of the train splits (sha1(id) % 20 == 0, ~5%) is never trained on; the
epoch kept and the heads' temperatures are chosen on it. Dev splits are read only by the final report.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray

from sentiment.analyzer import ASPECT_HEAD, SENTIMENT_HEAD
from sentiment.corpora import Example
from sentiment.encoder import Encoder, length_sorted_batches
from sentiment.evaluation import LABELS, score
from sentiment.heads import META_FILE as HEAD_META_FILE
from sentiment.heads import ClassifierHead, FeatureSpec
from sentiment.training import (
    DEFAULT_TRAIN_LIMITS,
    SELECTION_MODULUS,
    LabelledSet,
    aspect_categories,
    aspect_sets,
    calibrated,
    data_fingerprint,
    sample_weights,
    select_sets,
)
from sentiment.tuned import META_FILE as TUNED_META_FILE
from sentiment.tuned import TUNED_DIR, TunedLayers, mean_pool
from sentiment.types import SentimentLabel

FEATURE_SCALE = 0.05
"""The heads read unit vectors of 384 values (~0.05 each): dividing by this gives unit-sized inputs."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FinetuneOptions:
    """How the top layers are tuned. Defaults: see sentiment/heads/README.md for what was tried."""

    first: int = 9  # hidden state the branch starts from: layers first+1..n are tuned
    max_length: int = 128  # tokens per training text (the analyzer reads up to 256)
    epochs: int = 2
    batch_size: int = 32
    layer_lr: float = 1e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    aspect_weight: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class Row:
    """One training or selection row: a text (or pair input), its label index, task and set."""

    id: str
    text: str
    label: int
    task: str  # SENTIMENT_HEAD or ASPECT_HEAD
    set_name: str
    weight: float

    @property
    def example(self) -> Example:
        """The row as a labelled example (what calibration reads)."""
        return Example(self.id, self.text, SentimentLabel(LABELS[self.label]))


def rows_of(
    sets: Sequence[LabelledSet],
    task: str,
    part: Literal["train", "selection"],
    *,
    weight: float = 1.0,
    balance: bool = True,
) -> list[Row]:
    """The train (or selection) rows of `sets` as `Row`s; train rows weighted to balance classes per set.

    Aspect pairs are not balanced: their metric is accuracy and their label skew is real (MAMS's many
    neutral mentions of food), unlike TweetEval, whose metric rewards the small negative class.
    """
    examples: list[tuple[str, Example]] = [(s.name, row) for s in sets for row in getattr(s, part)]
    balanced = sample_weights(sets) if part == "train" and balance else np.ones(len(examples), np.float32)
    return [
        Row(row.id, row.text, LABELS.index(str(row.label)), task, name, weight * float(w))
        for (name, row), w in zip(examples, balanced, strict=True)
    ]


class StateCache:
    """Token states of hidden layer `first` for many texts: fp16, unpadded, cached on disk per text chunk."""

    CHUNK = 2048

    def __init__(self, encoder: Encoder, *, first: int, max_length: int, cache_dir: Path | None) -> None:
        self.encoder, self.first = encoder, first
        self.max_length = min(max_length, encoder.max_length)  # never past the model's positions
        self.root = (
            cache_dir / encoder.version / f"states-layer{first}-len{max_length}" if cache_dir else None
        )

    def states(self, texts: Sequence[str], progress: Progress | None = None) -> list[torch.Tensor]:
        """One (tokens, dim) fp16 tensor per text, in input order."""
        out: list[torch.Tensor] = []
        started = time.monotonic()
        for start in range(0, len(texts), self.CHUNK):
            chunk = texts[start : start + self.CHUNK]
            out.extend(self._chunk(chunk))
            if progress is not None:
                elapsed = time.monotonic() - started
                progress(f"cached states {start + len(chunk)}/{len(texts)} ({elapsed:.0f}s)")
        return out

    def _chunk(self, texts: Sequence[str]) -> list[torch.Tensor]:
        digest = hashlib.sha256(b"\0".join(t.encode("utf-8") for t in texts)).hexdigest()[:32]
        path = self.root / f"{digest}.npz" if self.root is not None else None
        if path is not None and path.is_file():
            stored = np.load(path)
            flat, offsets = torch.from_numpy(stored["flat"]), stored["offsets"]
            return [flat[offsets[i] : offsets[i + 1]] for i in range(len(texts))]
        rows = self._compute(texts)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            offsets = np.cumsum([0, *(len(r) for r in rows)])
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, flat=torch.cat(rows).numpy(), offsets=offsets)
            tmp.replace(path)
        return rows

    def _compute(self, texts: Sequence[str]) -> list[torch.Tensor]:
        encoder = self.encoder
        ids = encode_ids(encoder, texts, max_length=self.max_length)
        rows: list[torch.Tensor] = [torch.empty(0)] * len(texts)
        for batch in length_sorted_batches([len(r) for r in ids], 32):
            padded = encoder.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
            with torch.inference_mode():
                result = encoder.model(
                    input_ids=padded["input_ids"],
                    attention_mask=padded["attention_mask"],
                    output_hidden_states=True,
                )
            hidden = result.hidden_states[self.first].to(torch.float16)
            for j, i in enumerate(batch):
                rows[i] = hidden[j, : len(ids[i])].clone()
        return rows


def encode_ids(encoder: Encoder, texts: Sequence[str], *, max_length: int) -> list[list[int]]:
    """Token ids of the texts as the encoder reads them (prefix, specials, truncation)."""
    encoded = encoder.tokenizer(
        [encoder.prefix + text for text in texts], truncation=True, max_length=max_length
    )
    return [list(row) for row in encoded["input_ids"]]


class _Model(torch.nn.Module):
    """Branch + one linear head per task, over the L2-normalised mean pool of the branch's last layer."""

    def __init__(self, branch: TunedLayers, config: Any, tasks: Sequence[str], dim: int) -> None:
        super().__init__()
        self.branch_layers = branch.layers
        self.branch = branch
        self.config = config
        linears = {task: torch.nn.Linear(dim, len(LABELS)) for task in tasks}
        for linear in linears.values():
            torch.nn.init.zeros_(linear.weight)
            torch.nn.init.zeros_(linear.bias)
        self.heads = torch.nn.ModuleDict(linears)
        self.linears = linears

    def use(self, branch: TunedLayers) -> None:
        """Run `branch` from now on (the stored, fp16-rounded copy, to calibrate what gets shipped)."""
        self.branch, self.branch_layers = branch, branch.layers

    def features(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        last = self.branch.forward(hidden, mask, self.config)[-1]
        pooled = torch.nn.functional.normalize(mean_pool(last, mask), dim=-1)
        return pooled / FEATURE_SCALE

    def logits(self, features: torch.Tensor, task: str) -> torch.Tensor:
        out: torch.Tensor = self.heads[task](features)
        return out


def _pad(states: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(s) for s in states)
    dim = states[0].shape[1]
    hidden = torch.zeros(len(states), longest, dim, dtype=torch.float32)
    mask = torch.zeros(len(states), longest, dtype=torch.long)
    for i, s in enumerate(states):
        hidden[i, : len(s)] = s.to(torch.float32)
        mask[i, : len(s)] = 1
    return hidden, mask


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: shuffle, sort within pools of 50 batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        part = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _predict_logits(
    model: _Model, states: Sequence[torch.Tensor], rows: Sequence[Row], batch_size: int = 64
) -> NDArray[np.float32]:
    """Logits of each row's own task head, shape (len(rows), 3)."""
    out = np.zeros((len(rows), len(LABELS)), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for batch in length_sorted_batches([len(states[i]) for i in range(len(rows))], batch_size):
            hidden, mask = _pad([states[i] for i in batch])
            features = model.features(hidden, mask)
            for task in {rows[i].task for i in batch}:
                picked = [j for j, i in enumerate(batch) if rows[i].task == task]
                logits = model.logits(features[picked], task)
                out[[batch[j] for j in picked]] = logits.numpy()
    return out


def selection_figures(rows: Sequence[Row], logits: NDArray[np.float32]) -> dict[str, float]:
    """Per set, its official metric on the selection slice (macro recall for tweets, else accuracy)."""
    figures: dict[str, float] = {}
    for name in sorted({r.set_name for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.set_name == name]
        gold = [LABELS[rows[i].label] for i in idx]
        predicted = [LABELS[int(k)] for k in logits[idx].argmax(axis=1)]
        scores = score(gold, predicted)
        figures[name] = round(scores.macro_recall if name == "tweeteval_sentiment" else scores.accuracy, 4)
    figures["mean"] = round(float(np.mean(list(figures.values()))), 4)
    return figures


def finetune(
    data_dir: Path,
    encoder: Encoder,
    out_dir: Path,
    *,
    cache_dir: Path | None,
    options: FinetuneOptions = FinetuneOptions(),
    limits: Mapping[str, int] = DEFAULT_TRAIN_LIMITS,
    command: str = "",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Tune the top layers with both heads; write `out_dir/encoder`, `out_dir/sentiment`, `out_dir/aspect`.

    The best epoch so far (on the selection slice) is written as soon as it is known, so a run stopped
    during a later epoch leaves usable heads. Returns the training record (also stored in tuned.json and
    the heads' head.json).
    """
    say = progress or (lambda _message: None)
    torch.manual_seed(options.seed)
    task_sets = {
        SENTIMENT_HEAD: select_sets(data_dir, limits=limits, seed=options.seed),
        ASPECT_HEAD: aspect_sets(data_dir),
    }
    train_rows = rows_of(task_sets[SENTIMENT_HEAD], SENTIMENT_HEAD, "train") + rows_of(
        task_sets[ASPECT_HEAD], ASPECT_HEAD, "train", weight=options.aspect_weight, balance=False
    )
    held_rows = rows_of(task_sets[SENTIMENT_HEAD], SENTIMENT_HEAD, "selection") + rows_of(
        task_sets[ASPECT_HEAD], ASPECT_HEAD, "selection"
    )
    say(f"{len(train_rows)} training rows, {len(held_rows)} selection rows")
    cache = StateCache(encoder, first=options.first, max_length=options.max_length, cache_dir=cache_dir)
    started = time.monotonic()
    held_states = cache.states([r.text for r in held_rows], say)
    train_states = cache.states([r.text for r in train_rows], say)
    caching_s = time.monotonic() - started

    branch = TunedLayers.copy_of(encoder.model, first=options.first, base_version=encoder.version)
    model = _Model(branch, encoder.model.config, tuple(task_sets), encoder.dim)
    optimizer = torch.optim.AdamW(
        [
            {"params": model.branch_layers.parameters(), "lr": options.layer_lr},
            {"params": model.heads.parameters(), "lr": options.head_lr},
        ],
        weight_decay=options.weight_decay,
    )
    rng = random.Random(options.seed)  # noqa: S311 (shuffling, not security)
    lengths = [len(s) for s in train_states]
    steps_per_epoch = math.ceil(len(train_rows) / options.batch_size)
    total = steps_per_epoch * options.epochs
    warmup = max(1, int(total * options.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / (total - warmup)))
    )
    targets = torch.tensor([r.label for r in train_rows])
    weights = torch.tensor([r.weight for r in train_rows], dtype=torch.float32)
    weights = weights / weights.mean()
    record: dict[str, Any] = {
        "options": asdict(options),
        "data_sha256": data_fingerprint([s for sets in task_sets.values() for s in sets]),
        "rows": {"train": len(train_rows), "selection": len(held_rows)},
        "selection": f"train rows with sha1(id) % {SELECTION_MODULUS} == 0, never trained on",
        "history": [],
        "threads": torch.get_num_threads(),
        "command": command,
    }
    best = -1.0
    train_started = time.monotonic()
    for epoch in range(1, options.epochs + 1):
        model.train()
        epoch_started = time.monotonic()
        for step, batch in enumerate(_batches(lengths, options.batch_size, rng), start=1):
            hidden, mask = _pad([train_states[i] for i in batch])
            features = model.features(hidden, mask)
            loss = torch.zeros(())
            for task in task_sets:
                picked = [j for j, i in enumerate(batch) if train_rows[i].task == task]
                if not picked:
                    continue
                idx = torch.tensor([batch[j] for j in picked])
                losses = torch.nn.functional.cross_entropy(
                    model.logits(features[picked], task), targets[idx], reduction="none"
                )
                loss = loss + (losses * weights[idx]).sum() / len(batch)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            if step % 100 == 0:
                rate = step * options.batch_size / (time.monotonic() - epoch_started)
                say(f"epoch {epoch} step {step}/{steps_per_epoch} loss {loss.item():.3f} ({rate:.0f} rows/s)")
        figures = selection_figures(held_rows, _predict_logits(model, held_states, held_rows))
        record["history"].append(
            {"epoch": epoch, "seconds": round(time.monotonic() - epoch_started), **figures}
        )
        say(f"epoch {epoch}: selection slice {figures}")
        if figures["mean"] > best:
            best = figures["mean"]
            record |= {
                "chosen_epoch": epoch,
                "seconds": {"caching": round(caching_s), "training": round(time.monotonic() - train_started)},
                "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            _write(out_dir, model, encoder, task_sets, (held_states, held_rows), record, data_dir)
            say(f"epoch {epoch} written to {out_dir}")
        else:  # keep the best epoch's weights, but record every epoch tried
            _record_history(out_dir, record["history"], tuple(task_sets))
    return record


def _record_history(out_dir: Path, history: Sequence[Mapping[str, Any]], tasks: Sequence[str]) -> None:
    """Put every epoch's figures into the written files' training records (weights and versions kept)."""
    for path in (out_dir / TUNED_DIR / TUNED_META_FILE, *(out_dir / task / HEAD_META_FILE for task in tasks)):
        meta = json.loads(path.read_text(encoding="utf-8"))
        meta["training"]["history"] = list(history)
        path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write(
    out_dir: Path,
    model: _Model,
    encoder: Encoder,
    task_sets: Mapping[str, Sequence[LabelledSet]],
    held: tuple[Sequence[torch.Tensor], Sequence[Row]],
    record: Mapping[str, Any],
    data_dir: Path,
) -> None:
    """Write the branch (fp16) and both heads, calibrated on the selection slice through the stored branch."""
    stored = model.branch.save(out_dir / TUNED_DIR, metadata={"training": dict(record)})
    shipped = _Model(stored, encoder.model.config, tuple(task_sets), encoder.dim)
    shipped.heads.load_state_dict(model.heads.state_dict())
    held_states, held_rows = held
    held_logits = _predict_logits(shipped, held_states, held_rows)
    for task, sets in task_sets.items():
        head = _head_of(shipped, task, encoder, stored)
        by_set: dict[str, list[int]] = {}
        for i, row in enumerate(held_rows):
            if row.task == task:
                by_set.setdefault(row.set_name, []).append(i)
        head = calibrated(
            head,
            {name: held_logits[idx] for name, idx in by_set.items()},
            {name: [held_rows[i].example for i in idx] for name, idx in by_set.items()},
        )
        extra: dict[str, Any] = {"training": {**record, "task": task, "sets": [s.name for s in sets]}}
        if task == ASPECT_HEAD:
            extra["scope"] = {"categories": aspect_categories(data_dir), "languages": ["en"]}
        head.with_metadata(**extra).save(out_dir / task, dtype=np.float16)


def _head_of(model: _Model, task: str, encoder: Encoder, branch: TunedLayers) -> ClassifierHead:
    linear, dim = model.linears[task], encoder.dim
    return ClassifierHead(
        labels=LABELS,
        features=FeatureSpec(layers=(branch.last,), branch="tuned"),
        input_mean=np.zeros(dim, np.float32),
        input_scale=np.full(dim, FEATURE_SCALE, np.float32),
        weights=(linear.weight.detach().numpy().copy(),),
        biases=(linear.bias.detach().numpy().copy(),),
        name=task,
        encoder_version=f"{encoder.version}+{branch.version}",
    ).rounded(np.float16)
