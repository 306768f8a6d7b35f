"""The package's public surface is exactly its curated `__all__`."""

from __future__ import annotations

import sentiment


def test_all_is_sorted_and_every_name_exists() -> None:
    assert sentiment.__all__ == sorted(sentiment.__all__)
    for name in sentiment.__all__:
        assert getattr(sentiment, name).__doc__, name
