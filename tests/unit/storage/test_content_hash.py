from __future__ import annotations

import pytest

from storage.mentions import content_hash, normalise_for_hash


def test_hash_is_sha256_hex() -> None:
    digest = content_hash("hello")
    assert len(digest) == 64
    assert int(digest, 16) >= 0


@pytest.mark.parametrize(
    "copy",
    [
        "The parcel  arrived broken.",
        "the parcel arrived broken.",
        "  The parcel\narrived\tbroken.  ",
        "ＴＨＥ ＰＡＲＣＥＬ ＡＲＲＩＶＥＤ ＢＲＯＫＥＮ.",  # full-width, as pasted from a CJK keyboard
    ],
)
def test_cross_posted_copies_hash_alike(copy: str) -> None:
    assert content_hash(copy) == content_hash("The parcel arrived broken.")


def test_different_texts_hash_apart() -> None:
    assert content_hash("arrived broken") != content_hash("arrived intact")


def test_whitespace_only_text_normalises_to_empty() -> None:
    assert normalise_for_hash(" \n\t ") == ""
