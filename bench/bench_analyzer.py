"""Throughput of the default analyzer (encoder + sentiment head) on this machine's CPU.

    python bench/bench_analyzer.py --models-dir ~/.local/share/vocwatch/models

Prints texts/s for short (~15 tokens) and long (~120 tokens) texts at batch 32. A benchmark, not a test: it
asserts nothing, and the numbers depend on what else the machine is doing (run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs
import torch

from sentiment import load_analyzer, prepare_default_model

SENTENCES = [  # ~15 tokens each with the "query: " prefix and <s> </s>
    "Delivery was late and nobody answered my emails.",
    "快递太慢了，客服态度很差，不买了。",
    "Great quality, the jacket fits perfectly.",
    "The app crashes when I open payments.",
    "房间很干净，前台服务很热情。",
    "I waited forty minutes on the phone.",
    "Der Service war freundlich, aber langsam.",
    "Prices went up again without notice.",
]


def _long_texts(count: int, target_tokens: int, n_tokens: Callable[[str], int]) -> list[str]:
    """Texts of about `target_tokens` tokens, each a different run of the sentences."""
    texts: list[str] = []
    for i in range(count):
        text, j = SENTENCES[i % len(SENTENCES)], i + 1
        while n_tokens(text) < target_tokens:
            text += " " + SENTENCES[j % len(SENTENCES)]
            j += 1
        texts.append(text)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models-dir", type=Path, default=Path(platformdirs.user_data_dir("vocwatch")) / "models"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    analyzer = load_analyzer(prepare_default_model(args.models_dir), batch_size=args.batch_size)
    tokenizer = analyzer.encoder.tokenizer

    def n_tokens(text: str) -> int:
        return len(tokenizer(analyzer.encoder.prefix + text)["input_ids"])

    print(f"model {analyzer.model_version}  torch {torch.__version__}  threads {torch.get_num_threads()}")
    analyzer.analyze(SENTENCES * 4)  # warm-up: first calls allocate and pick kernels
    for name, target, count in (("short", 15, 320), ("long", 120, 96)):
        texts = (
            _long_texts(count, target, n_tokens) if target > 15 else [SENTENCES[i % 8] for i in range(count)]
        )
        mean_tokens = statistics.mean(n_tokens(t) for t in texts)
        rates = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            analyzer.analyze(texts)
            rates.append(len(texts) / (time.perf_counter() - started))
        print(
            f"{name:5s} ~{mean_tokens:5.1f} tokens  batch {args.batch_size}: "
            f"{max(rates):7.1f} texts/s (best of {args.repeats}; median {statistics.median(rates):.1f})"
        )


if __name__ == "__main__":
    main()
