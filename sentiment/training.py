"""Fit the sentiment head on frozen encoder features of the labelled sets, and report dev-split figures.

One multilingual head for three labels: TweetEval (English tweets) teaches all three, the Chinese review
sets teach negative vs positive. The encoder stays frozen: only features are computed (once, cached by
`embedding_cache`), so refitting is cheap and the committed artefact is a few hundred kilobytes.

Rows are sampled per set with a fixed seed (a shuffled prefix, so asking for more rows later keeps the
earlier ones); dev splits are used whole. The report's figures are the ones each set is published with:
TweetEval macro-averaged recall, Chinese accuracy (a `neutral` answer on a Chinese review counts as wrong).

The fitted head is then calibrated (`calibrate_head`): a softmax temperature chosen on one half of the dev
splits, its effect measured on the other half. `recalibrate_sentiment_head` does only that step for an
existing head, which needs the dev splits embedded (~9k texts) instead of the training sets (~56k).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sentiment.analyzer import ASPECT_HEAD, SENTIMENT_HEAD, check_compatible
from sentiment.aspects import aspect_input
from sentiment.calibration import (
    calibration_half,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    softmax,
)
from sentiment.corpora import SENTIMENT_SETS, Example, fingerprint, read_eval_jsonl, read_split
from sentiment.embedding_cache import ProgressCallback, pooled_features
from sentiment.encoder import DEFAULT_BATCH_SIZE, Encoder
from sentiment.evaluation import LABELS, score
from sentiment.heads import ClassifierHead, FeatureSpec

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


@dataclass(frozen=True)
class LabelledSet:
    """The rows of one set used for training (sampled) and for evaluation (whole dev split)."""

    name: str
    train: list[Example]
    dev: list[Example]


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
        selected.append(
            LabelledSet(name=name, train=train[: limits[name]], dev=read_split(data_dir, name, "dev"))
        )
    return selected


def embed_sets(
    encoder: Encoder,
    sets: Sequence[LabelledSet],
    *,
    cache_dir: Path | None,
    layers: Sequence[int] = CACHED_LAYERS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> dict[tuple[str, str], NDArray[np.float32]]:
    """Pooled features for every set and split, keyed by (set name, "train" | "dev"). Dev splits go first."""
    jobs = [(s.name, "dev", s.dev) for s in sets] + [(s.name, "train", s.train) for s in sets]
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
        LabelledSet(
            name=name,
            train=read_aspect_split(data_dir, name, "train"),
            dev=read_aspect_split(data_dir, name, "dev"),
        )
        for name in names
    ]


def data_fingerprint(sets: Sequence[LabelledSet]) -> str:
    """Hash of every training row (ids, labels, texts) in the order the head saw them."""
    return fingerprint([row for s in sets for row in s.train])


def summary(sets: Sequence[LabelledSet]) -> dict[str, Any]:
    """Row counts per set and split, for the report."""
    return {s.name: {"train": len(s.train), "dev": len(s.dev)} for s in sets}


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


CHINESE_SETS: tuple[str, ...] = ("chnsenticorp_htl", "waimai_10k", "online_shopping_10_cats")


def sample_weights(sets: Sequence[LabelledSet]) -> NDArray[np.float32]:
    """Balance classes within each set, so the head does not learn a set's label skew as a prior.

    TweetEval is 45% neutral and 16% negative; waimai is two-thirds negative. Unweighted, the head would
    under-call negatives in tweets (hurting the macro recall and, in production, missed alerts).
    """
    weights: list[float] = []
    for s in sets:
        counts: dict[str, int] = {}
        for row in s.train:
            counts[row.label] = counts.get(row.label, 0) + 1
        for row in s.train:
            weights.append(len(s.train) / (len(counts) * counts[row.label]))
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
) -> ClassifierHead:
    """Fit the 3-class head on every set's training rows (features from `embed_sets`)."""
    inputs = train_inputs(sets, features, layers=options.layers, cached_layers=cached_layers)
    targets = [str(row.label) for s in sets for row in s.train]
    return ClassifierHead.fit(
        inputs,
        targets,
        labels=LABELS,
        features=FeatureSpec(layers=options.layers),
        sample_weight=sample_weights(sets),
        hidden_dim=options.hidden_dim,
        l2=options.l2,
        epochs=options.epochs,
        seed=options.seed,
        name="sentiment",
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
    """Fit the head's temperature on the dev splits' "fit" halves; record ECE/NLL on the "report" halves.

    Each set weighs the same in the fit (its rows are weighted 1/n): the head serves English tweets and
    Chinese reviews alike, and the 5,000 easy shopping reviews should not decide the temperature for
    tweets. The figures before/after are stored in head.json under `calibration`, per set and pooled.
    """
    halves: dict[str, dict[str, list[int]]] = {}
    logits: dict[str, NDArray[np.float32]] = {}
    for s in sets:
        inputs = head.features.build(head.features.select(features[(s.name, "dev")], cached_layers))
        logits[s.name] = head.logits(inputs)
        halves[s.name] = {"fit": [], "report": []}
        for i, row in enumerate(s.dev):
            halves[s.name][calibration_half(row.id)].append(i)
    index = {label: i for i, label in enumerate(head.labels)}
    targets = {s.name: np.asarray([index[str(r.label)] for r in s.dev], dtype=np.int64) for s in sets}

    def gather(half: str) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.float64]]:
        rows = [(s.name, halves[s.name][half]) for s in sets if halves[s.name][half]]
        z = np.concatenate([logits[name][idx] for name, idx in rows])
        y = np.concatenate([targets[name][idx] for name, idx in rows])
        w = np.concatenate([np.full(len(idx), 1.0 / len(idx)) for _, idx in rows])
        return z, y, w

    fit_logits, fit_targets, fit_weights = gather("fit")
    temperature = round(fit_temperature(fit_logits, fit_targets, weights=fit_weights), 4)

    def figures(z: NDArray[np.float32], y: NDArray[np.int64], t: float) -> dict[str, float]:
        p = softmax(z, t)
        ece = expected_calibration_error(p.max(axis=1), p.argmax(axis=1) == y)
        return {"ece": round(ece, 4), "nll": round(negative_log_likelihood(z, y, temperature=t), 4)}

    measured: dict[str, Any] = {}
    for s in sets:
        idx = halves[s.name]["report"]
        z, y = logits[s.name][idx], targets[s.name][idx]
        measured[s.name] = {"n": len(idx), "before": figures(z, y, 1.0), "after": figures(z, y, temperature)}
    z, y, _ = gather("report")
    measured["pooled"] = {"n": len(y), "before": figures(z, y, 1.0), "after": figures(z, y, temperature)}
    calibration = {
        "method": "temperature scaling (Guo et al. 2017), sets weighted equally",
        "fitted_on": {s.name: len(halves[s.name]["fit"]) for s in sets},
        "split": "dev rows by sha1(id)[0] % 2: even = fit, odd = report",
        "report_half": measured,
    }
    return head.with_temperature(temperature).with_metadata(calibration=calibration)


def layers_to_cache(encoder: Encoder, wanted: Sequence[int]) -> tuple[int, ...]:
    """The head's layers plus the usual cached ones the encoder has, so other head options reuse the cache."""
    return tuple(sorted({x for x in CACHED_LAYERS if x <= encoder.num_layers} | set(wanted)))


def dev_sets(data_dir: Path) -> list[LabelledSet]:
    """The sentiment sets with their dev splits only (what calibrating an existing head reads)."""
    return select_sets(data_dir, limits=dict.fromkeys(SENTIMENT_SETS, 0))


def recalibrate_sentiment_head(
    data_dir: Path,
    model_dir: Path,
    heads_dir: Path,
    *,
    cache_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    command: str = "",
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Calibrate the head in `heads_dir/sentiment` in place (weights untouched); returns its calibration."""
    head = ClassifierHead.load(heads_dir / SENTIMENT_HEAD)
    encoder = Encoder.load(model_dir)
    check_compatible(encoder, head)
    layers = layers_to_cache(encoder, head.features.layers)
    sets = dev_sets(data_dir)
    features = embed_sets(
        encoder, sets, cache_dir=cache_dir, layers=layers, batch_size=batch_size, progress=progress
    )
    head = calibrate_head(head.with_temperature(1.0), sets, features, cached_layers=layers)
    head = head.with_metadata(calibration={**head.metadata["calibration"], "command": command})
    head.save(heads_dir / SENTIMENT_HEAD, dtype=np.float16)
    return {"version": head.version, "temperature": head.temperature, **head.metadata["calibration"]}


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
) -> dict[str, Any]:
    """Embed the sets (cached), fit the sentiment head, evaluate it on dev, save it as `out_dir/sentiment/`.

    `out_dir` is a heads directory: pass it as `heads_dir` to `load_analyzer`. Returns the report that is
    also stored in head.json (row counts, data hash, dev figures, options, command).
    """
    encoder = Encoder.load(model_dir)
    if not all(0 <= layer <= encoder.num_layers for layer in options.layers):
        raise ValueError(f"layers {options.layers} outside 0..{encoder.num_layers} for this encoder")
    layers = layers_to_cache(encoder, options.layers)
    sets = select_sets(data_dir, limits=limits, seed=options.seed)
    features = embed_sets(
        encoder, sets, cache_dir=cache_dir, layers=layers, batch_size=batch_size, progress=progress
    )
    head = fit_sentiment_head(
        sets, features, encoder_version=encoder.version, options=options, cached_layers=layers
    )
    head = head.rounded(np.float16)  # evaluate exactly what gets committed (fp16 halves the bytes in git)
    head = calibrate_head(head, sets, features, cached_layers=layers)
    dev = evaluate_head(head, sets, features, cached_layers=layers)
    training = {
        "data_sha256": data_fingerprint(sets),
        "rows": summary(sets),
        "options": {**asdict(options), "layers": list(options.layers)},
        "command": command,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    head = head.with_metadata(training=training, dev=dev)
    head.save(out_dir / SENTIMENT_HEAD, dtype=np.float16)
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
    inputs = train_inputs(sets, features, layers=options.layers, cached_layers=cached_layers)
    return ClassifierHead.fit(
        inputs,
        [str(row.label) for s in sets for row in s.train],
        labels=LABELS,
        features=FeatureSpec(layers=options.layers),
        sample_weight=sample_weights(sets) if options.balance else None,
        hidden_dim=options.hidden_dim,
        l2=options.l2,
        epochs=options.epochs,
        seed=options.seed,
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
    layers = layers_to_cache(encoder, options.layers)
    sets = aspect_sets(data_dir)
    features = embed_sets(
        encoder, sets, cache_dir=cache_dir, layers=layers, batch_size=batch_size, progress=progress
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
