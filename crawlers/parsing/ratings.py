"""Ratings as one number, 0..1, whatever scale a source uses: worst = 0, best = 1.

Every source kind stores `(rating - worst) / (best - worst)`, so the same star count weighs the same in
severity and in the digest wherever it was given (the App Store's 1 star once stored 0.2 and a review
site's 1 star 0.0).
"""

from __future__ import annotations

import contextlib
from typing import Any

import attrs

__all__ = ["RatingScale", "normalise_rating"]


@attrs.frozen
class RatingScale:
    """schema.org's rating scale; the default when a page declares none is 1..5."""

    best: float = 5.0
    worst: float = 1.0


def normalise_rating(value: Any, scale: RatingScale) -> float | None:
    """A rating on `scale` as 0..1; None when missing, not a number, or off the scale (a broken page
    must not pass for a 0-star review). `value` is a number or its text ("4", "8,5")."""
    with contextlib.suppress(TypeError, ValueError):
        number = float(str(value).strip().replace(",", "."))
        span = scale.best - scale.worst
        if span > 0 and scale.worst <= number <= scale.best:
            return round((number - scale.worst) / span, 6)
    return None
