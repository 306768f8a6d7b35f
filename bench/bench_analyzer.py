"""Throughput of the default analyzer on this machine's CPU, fp32 and int8, against the machine's limit.

    python bench/bench_analyzer.py --models-dir ~/.local/share/vocwatch/models [--data-dir ../shared/data]

For short (~15 tokens) and long (~120 tokens) texts at batch 32 it prints, per backend:
- `analyze`: texts/s through `Analyzer.analyze` (encoder, sentiment, clauses, topics, churn, language);
- `encoder`: texts/s of the encoder pass alone (frozen layers plus the tuned branch, one pass per text),
  and what that is as a share of the fp32 arithmetic limit: model FLOPs per text (2·multiply-adds of every
  Linear layer plus attention, for the real token counts, tuned layers included) times texts/s, divided by
  the GFLOP/s of a large fp32 matmul measured on the same threads.
Then the process's peak RSS. Targets (issue 16): fp32 >= 170 short and >= 20 long texts/s through
`analyze`, int8 >= 300 short texts/s, peak RSS <= 1.2 GB.
With `--data-dir`, it also scores dev texts of TweetEval and ChnSentiCorp with both backends and prints
label agreement and accuracy, the evidence for (or against) using int8.

A benchmark, not a test: it asserts nothing, and the numbers depend on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import platformdirs
import torch

from sentiment import Analyzer, load_analyzer, prepare_default_model
from sentiment.encoder import Backend
from sentiment.speed import SENTENCES, sample_texts, texts_per_second

AGREEMENT_SETS = ("tweeteval_sentiment", "chnsenticorp_htl")


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best fp32 GFLOP/s of a square matmul: the practical arithmetic limit of these cores and threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * size**3 / (time.perf_counter() - started) / 1e9)
    return best


def encoder_flops(analyzer: Analyzer, tokens: int) -> float:
    """FLOPs to encode one text of `tokens` tokens: Linear layers (2·in·out per token) plus attention."""
    config = analyzer.encoder.model.config
    hidden, ffn, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    tuned = analyzer.encoder.tuned
    if tuned is not None and analyzer.sentiment.features.branch == "tuned":
        layers += len(tuned.layers)
    linear = 2 * tokens * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = 2 * 2 * tokens * tokens * hidden  # scores and weighted sum
    return float(layers * (linear + attention))


def bench_backend(analyzer: Analyzer, limit_gflops: float, repeats: int) -> None:
    tokenizer = analyzer.encoder.tokenizer

    def n_tokens(text: str) -> int:
        return len(tokenizer(analyzer.encoder.prefix + text)["input_ids"])

    analyzer.analyze(list(SENTENCES) * 4)  # warm-up: first calls allocate and pick kernels
    for name, count in (("short", 320), ("long", 96)):
        texts = sample_texts(name, count, n_tokens)
        lengths = [min(n_tokens(t), analyzer.encoder.max_length) for t in texts]
        full, full_median = texts_per_second(functools.partial(analyzer.analyze, texts), count, repeats)
        spec = analyzer.sentiment.features
        encode_only = functools.partial(  # one pass: base layers for topics/churn, the head's tuned layers
            analyzer.encoder.pool_spans,
            texts,
            [()] * len(texts),
            layers=(analyzer.encoder.num_layers,),
            tuned_layers=spec.layers if spec.branch == "tuned" else (),
            batch_size=analyzer.batch_size,
        )
        encode, _ = texts_per_second(encode_only, count, repeats)
        flops = statistics.mean(encoder_flops(analyzer, n) for n in lengths)
        share = encode * flops / 1e9 / limit_gflops
        print(
            f"  {name:5s} ~{statistics.mean(lengths):5.1f} tokens: analyze {full:6.1f} texts/s "
            f"(median {full_median:.1f}); encoder {encode:6.1f} texts/s = {flops / 1e6:.0f} MFLOP/text "
            f"x {encode:.0f}/s = {share:.0%} of the fp32 limit"
        )


def agreement(fp32: Analyzer, int8: Analyzer, data_dir: Path, per_set: int) -> None:
    """Labels of both backends on dev texts: how often they agree, and each one's accuracy."""
    for name in AGREEMENT_SETS:
        rows = _read_jsonl(data_dir / name / "dev.jsonl")[:per_set]
        texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
        a = [r.label.value for r in fp32.analyze(texts)]
        b = [r.label.value for r in int8.analyze(texts)]
        print(
            f"  {name}: {len(texts)} dev texts, int8 agrees with fp32 on {_share(a, b):.1%}; "
            f"accuracy fp32 {_share(a, gold):.3f}, int8 {_share(b, gold):.3f}"
        )


def _share(a: Sequence[str], b: Sequence[str]) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def _read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models-dir", type=Path, default=Path(platformdirs.user_data_dir("vocwatch")) / "models"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, help="../shared/data: measure int8 agreement on dev texts")
    parser.add_argument("--per-set", type=int, default=500, help="dev texts per set for the agreement")
    args = parser.parse_args()

    model_dir = prepare_default_model(args.models_dir)
    limit = matmul_gflops()
    print(
        f"torch {torch.__version__}  threads {torch.get_num_threads()}  fp32 matmul limit {limit:.1f} GFLOP/s"
    )
    analyzers: dict[Backend, Analyzer] = {}
    for backend in ("torch", "int8"):
        analyzers[backend] = load_analyzer(model_dir, batch_size=args.batch_size, backend=backend)
        print(f"{backend}: {analyzers[backend].model_version}")
        bench_backend(analyzers[backend], limit, args.repeats)
    if args.data_dir is not None:
        agreement(analyzers["torch"], analyzers["int8"], args.data_dir, args.per_set)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS {peak:.0f} MB (both backends loaded)")


if __name__ == "__main__":
    main()
