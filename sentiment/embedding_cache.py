"""A disk cache of pooled encoder features for training, so that refitting a head costs seconds, not hours.

Embedding ~40k texts through the transformer takes tens of minutes on two cores, while fitting a head on the
result takes seconds. Features are cached in chunks addressed by the hash of their texts, under a directory
named for the encoder version, pooled layers and truncation length: a changed model or setting never reads
stale vectors, an interrupted run resumes at the first missing chunk, and taking more rows of a set later
reuses every chunk already computed. Values are stored as float16 (plenty for fitting heads; half the disk).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sentiment.encoder import DEFAULT_BATCH_SIZE, Encoder

CHUNK_SIZE = 1024

# Called after each chunk with (texts done, texts total) so a CLI can show progress.
ProgressCallback = Callable[[int, int], None]


def cache_root(cache_dir: Path, encoder: Encoder, layers: Sequence[int], *, tuned: bool = False) -> Path:
    """The directory that holds chunks for this encoder (and tuned branch), truncation and pooled layers."""
    layer_part = "-".join(str(layer) for layer in layers)
    branch = f"-{encoder.tuned.version}" if tuned and encoder.tuned is not None else ""
    return cache_dir / encoder.version / f"len{encoder.max_length}-layers{layer_part}{branch}"


def pooled_features(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    layers: Sequence[int],
    cache_dir: Path | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    tuned: bool = False,
) -> NDArray[np.float32]:
    """Mean-pooled features of `layers` for `texts`, shape (n, len(layers), dim); computed once per chunk.

    `tuned` reads the layers from the encoder's tuned branch instead of the frozen encoder.
    """
    out = np.zeros((len(texts), len(layers), encoder.dim), dtype=np.float32)
    root = cache_root(cache_dir, encoder, layers, tuned=tuned) if cache_dir is not None else None
    for start in range(0, len(texts), CHUNK_SIZE):
        chunk = texts[start : start + CHUNK_SIZE]
        path = root / f"{_chunk_key(chunk)}.npy" if root is not None else None
        if path is not None and path.is_file():
            values = np.load(path).astype(np.float32)
        else:
            # Round to what the cache stores even when not caching, so that a head fitted from a cold
            # cache and one fitted from a warm cache are the same head.
            pools = encoder.pool_spans(
                chunk,
                [()] * len(chunk),
                layers=() if tuned else layers,
                tuned_layers=layers if tuned else (),
                batch_size=batch_size,
            )
            values = (pools.tuned if tuned else pools.base).astype(np.float16)
            if path is not None:
                _save_atomically(path, values)
        out[start : start + len(chunk)] = values
        if progress is not None:
            progress(start + len(chunk), len(texts))
    return out


def _chunk_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:32]


def _save_atomically(path: Path, values: NDArray[np.float16]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".chunk-", suffix=".npy", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, values)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
