"""Length-sorted batching: every index exactly once, similar lengths together, longest first."""

from __future__ import annotations

import pytest

from sentiment.encoder import length_sorted_batches


def test_batches_cover_every_index_once_longest_first() -> None:
    lengths = [5, 40, 7, 40, 12, 3, 18]
    batches = length_sorted_batches(lengths, batch_size=3)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    assert [len(batch) for batch in batches] == [3, 3, 1]


def test_equal_lengths_keep_input_order() -> None:
    assert length_sorted_batches([4, 4, 4], batch_size=2) == [[0, 1], [2]]


def test_no_texts_no_batches() -> None:
    assert length_sorted_batches([], batch_size=8) == []


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        length_sorted_batches([1], batch_size=0)
