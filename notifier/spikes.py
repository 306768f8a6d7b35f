"""Spike detection: is the negative volume of one touchpoint or topic unusual right now?

A spike check compares a **recent window** (e.g. the last hour) with a **baseline** made of the same-sized
windows just before it (e.g. the 12 hours before, as 12 one-hour bins). Per bin it gets two counts: negative
mentions and all analyzed mentions. A spike needs all of:

1. **enough volume**: at least `min_count` negatives in the recent window, so that 1 → 3 is never a spike;
2. **a Poisson tail test**: P(X ≥ observed | λ) < `p_value`, with λ the baseline's mean negatives per bin
   (floored at `min_baseline_rate`, so an empty baseline does not make every mention a "spike");
3. **mean + k·σ** of the baseline bins: Poisson assumes variance = mean, but customer voice is bursty
   (a weekly newsletter, a busy Monday); a noisy baseline raises the bar through its own spread;
4. **a rise in the share of negatives** of at least `min_share_rise` (absolute, e.g. 0.05 = 5 points) over
   the baseline share, so a launch day that brings more of *everything* is not a "negative spike".

One spike is reported once per **episode** (see `next_episode_step`): the first check that sees it opens
the episode and alerts; later checks only extend it; it ends after `cooldown` without a spike, and only
then can the same touchpoint/topic alert again. The cooldown (hysteresis) keeps a count that hovers around
the threshold from alerting on every other check.

Pure: counts in, verdicts out (no storage, no Slack); `vocwatch/stages/spikes.py` feeds it and acts on it.
"""

from __future__ import annotations

import enum
import hashlib
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "DEFAULT_MIN_HISTORY",
    "DEFAULT_SPIKE_RULES",
    "BinCounts",
    "EpisodeState",
    "EpisodeStep",
    "SpikeRule",
    "SpikeVerdict",
    "evaluate_spike",
    "next_episode_step",
    "poisson_upper_tail",
    "spike_batch_key",
]


@dataclass(frozen=True)
class SpikeRule:
    """One window-vs-baseline comparison. `name` appears in dedup keys and messages ("1h", "1d")."""

    name: str
    window: timedelta
    baseline_bins: int
    min_count: int = 5
    p_value: float = 0.001
    k_sigma: float = 3.0
    min_share_rise: float = 0.05
    min_baseline_rate: float = 0.5

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.baseline_bins < 2 or self.min_count < 1:
            raise ValueError("a spike rule needs a positive window, 2+ baseline bins and min_count >= 1")
        if not 0.0 < self.p_value < 1.0:
            raise ValueError("p_value must be in (0, 1)")

    @property
    def cooldown(self) -> timedelta:
        """An episode ends after one whole window without a spike."""
        return self.window


DEFAULT_MIN_HISTORY = timedelta(days=3)
"""How long a touchpoint or topic is watched before it is judged: a baseline of zero is no baseline."""

DEFAULT_SPIKE_RULES: tuple[SpikeRule, ...] = (
    SpikeRule(name="1h", window=timedelta(hours=1), baseline_bins=12),
    SpikeRule(name="1d", window=timedelta(days=1), baseline_bins=14, min_count=10),
)


@dataclass(frozen=True)
class BinCounts:
    """Mentions in one time bin: `negative` of `total` analyzed."""

    negative: int
    total: int

    def __post_init__(self) -> None:
        if not 0 <= self.negative <= self.total:
            raise ValueError(f"need 0 <= negative <= total, got {self.negative} of {self.total}")


@dataclass(frozen=True)
class SpikeVerdict:
    """The numbers behind a decision; they go into the alert so that people can judge it themselves."""

    is_spike: bool
    reason: str
    observed: int
    total: int
    expected: float  # baseline mean negatives per bin
    threshold: float  # mean + k·σ
    p_value: float
    share: float | None  # negative share of the recent window
    baseline_share: float | None

    @property
    def ratio(self) -> float:
        """Observed negatives over the baseline rate: "4.5× usual"."""
        return self.observed / max(self.expected, 1e-9)


def poisson_upper_tail(observed: int, rate: float) -> float:
    """P(X ≥ observed) for X ~ Poisson(rate), summed in log space so large rates do not underflow.

    Only the tail above the mean matters for spikes: for `observed <= rate` it returns 1.0.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    if observed <= rate:
        return 1.0
    log_rate = math.log(rate)
    total = 0.0
    k = observed
    while True:
        term = math.exp(-rate + k * log_rate - math.lgamma(k + 1))
        total += term
        if term <= total * 1e-15 or term == 0.0:
            return min(total, 1.0)
        k += 1


def evaluate_spike(recent: BinCounts, baseline: Sequence[BinCounts], rule: SpikeRule) -> SpikeVerdict:
    """Judge the recent window against the baseline bins (see the module docstring for the four tests)."""
    if len(baseline) < 2:
        raise ValueError("the baseline needs at least two bins")
    negatives = [b.negative for b in baseline]
    mean = statistics.fmean(negatives)
    sigma = statistics.pstdev(negatives)
    rate = max(mean, rule.min_baseline_rate)
    threshold = mean + rule.k_sigma * sigma
    base_total = sum(b.total for b in baseline)
    baseline_share = sum(negatives) / base_total if base_total else None
    share = recent.negative / recent.total if recent.total else None
    p = poisson_upper_tail(recent.negative, rate)

    def verdict(is_spike: bool, reason: str) -> SpikeVerdict:
        return SpikeVerdict(
            is_spike=is_spike,
            reason=reason,
            observed=recent.negative,
            total=recent.total,
            expected=mean,
            threshold=threshold,
            p_value=p,
            share=share,
            baseline_share=baseline_share,
        )

    if recent.negative < rule.min_count:
        return verdict(False, f"{recent.negative} negatives, below the minimum of {rule.min_count}")
    if p >= rule.p_value:
        return verdict(False, f"p={p:.3g} not below {rule.p_value:g}")
    if recent.negative <= threshold:
        return verdict(False, f"{recent.negative} within mean + {rule.k_sigma:g}σ ({threshold:.1f})")
    if baseline_share is not None and share is not None and share < baseline_share + rule.min_share_rise:
        return verdict(False, f"negative share {share:.0%} did not rise over the usual {baseline_share:.0%}")
    return verdict(True, f"{recent.negative} negatives vs {mean:.1f} usual (p={p:.2g})")


class EpisodeStep(enum.StrEnum):
    """What a check does with the episode state of one touchpoint/topic and rule."""

    NOTHING = "nothing"
    OPEN = "open"  # a new episode: store it and enqueue ONE spike alert
    EXTEND = "extend"  # still spiking: remember when it was last seen
    END = "end"  # quiet for a whole cooldown: close it, so the next spike alerts again


@dataclass(frozen=True)
class EpisodeState:
    """The open episode, as stored: when it started and when a check last saw the spike."""

    started_at: datetime
    last_spike_at: datetime


def next_episode_step(
    open_episode: EpisodeState | None, *, is_spike: bool, now: datetime, cooldown: timedelta
) -> EpisodeStep:
    """The episode state machine: alert on opening only; close after `cooldown` without a spike."""
    if open_episode is None:
        return EpisodeStep.OPEN if is_spike else EpisodeStep.NOTHING
    if is_spike:
        return EpisodeStep.EXTEND
    if now - open_episode.last_spike_at >= cooldown:
        return EpisodeStep.END
    return EpisodeStep.NOTHING


def spike_batch_key(episode_keys: Sequence[str], opened_at: datetime) -> str:
    """The one alert key of the episodes one check opened (`<dimension>:<name>:<rule>` each).

    A rerun of the same check (a crash before its commit) computes the same key, so it cannot queue a
    second message; episodes opened at another time get another key.
    """
    digest = hashlib.sha256("\n".join(sorted(episode_keys)).encode("utf-8")).hexdigest()[:16]
    return f"spike:{opened_at.strftime('%Y%m%dT%H%M%S')}:{digest}"
