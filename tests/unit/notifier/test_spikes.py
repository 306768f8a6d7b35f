"""Spike detection on synthetic series: Poisson tail, mean + k·σ, minimum counts, share rise, episodes."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from notifier.spikes import (
    BinCounts,
    EpisodeState,
    EpisodeStep,
    SpikeRule,
    evaluate_spike,
    next_episode_step,
    poisson_upper_tail,
    spike_batch_key,
)

HOUR = SpikeRule(name="1h", window=timedelta(hours=1), baseline_bins=12)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def flat(negative: int, total: int, bins: int = 12) -> list[BinCounts]:
    return [BinCounts(negative, total) for _ in range(bins)]


def test_poisson_tail_matches_the_closed_form_for_small_counts() -> None:
    rate = 2.0
    exact = 1 - sum(math.exp(-rate) * rate**k / math.factorial(k) for k in range(6))
    assert poisson_upper_tail(6, rate) == pytest.approx(exact, rel=1e-9)


def test_poisson_tail_survives_large_rates_without_underflow() -> None:
    assert 0.0 < poisson_upper_tail(1200, 1000.0) < 1e-8
    assert poisson_upper_tail(900, 1000.0) == 1.0


def test_a_burst_over_a_quiet_baseline_is_a_spike() -> None:
    verdict = evaluate_spike(BinCounts(12, 20), flat(1, 20), HOUR)
    assert verdict.is_spike, verdict.reason
    assert verdict.expected == 1.0
    assert verdict.ratio == pytest.approx(12.0)
    assert verdict.share == pytest.approx(0.6)
    assert verdict.baseline_share == pytest.approx(0.05)


def test_one_to_three_is_not_a_spike_because_of_the_minimum_count() -> None:
    verdict = evaluate_spike(BinCounts(3, 5), flat(0, 5), HOUR)
    assert not verdict.is_spike
    assert "minimum" in verdict.reason


def test_an_empty_baseline_does_not_turn_five_mentions_into_a_spike_of_infinite_ratio() -> None:
    # The floored rate (0.5/h) still makes 5 in one hour very unlikely: that IS news for a silent touchpoint.
    assert evaluate_spike(BinCounts(5, 5), flat(0, 0), HOUR).is_spike
    # ...but a higher minimum stops it for rules that want more evidence.
    strict = SpikeRule(name="1h", window=timedelta(hours=1), baseline_bins=12, min_count=6)
    assert not evaluate_spike(BinCounts(5, 5), flat(0, 0), strict).is_spike


def test_normal_noise_is_not_a_spike() -> None:
    baseline = [BinCounts(n, 40) for n in (8, 12, 9, 11, 10, 7, 13, 10, 9, 11, 10, 10)]
    assert not evaluate_spike(BinCounts(14, 40), baseline, HOUR).is_spike


def test_a_bursty_baseline_raises_the_bar_through_k_sigma() -> None:
    # Mean 5 but a weekly pattern (0 or 20): Poisson alone would flag 16; the spread says it is usual.
    baseline = [BinCounts(n, 40) for n in (0, 0, 20, 0, 0, 0, 20, 0, 0, 0, 20, 0)]
    verdict = evaluate_spike(BinCounts(16, 40), baseline, HOUR)
    assert verdict.p_value < HOUR.p_value
    assert not verdict.is_spike
    assert "σ" in verdict.reason


def test_more_of_everything_is_not_a_negative_spike_without_a_share_rise() -> None:
    # Launch day: 10x volume, same 10% negative share.
    verdict = evaluate_spike(BinCounts(20, 200), flat(2, 20), HOUR)
    assert not verdict.is_spike
    assert "share" in verdict.reason
    assert evaluate_spike(BinCounts(20, 60), flat(2, 20), HOUR).is_spike


def test_bad_counts_and_rules_are_rejected() -> None:
    with pytest.raises(ValueError):
        BinCounts(3, 2)
    with pytest.raises(ValueError):
        SpikeRule(name="x", window=timedelta(0), baseline_bins=12)
    with pytest.raises(ValueError):
        evaluate_spike(BinCounts(1, 1), [BinCounts(0, 0)], HOUR)


def test_an_episode_alerts_once_then_extends_and_ends_only_after_a_quiet_cooldown() -> None:
    cooldown = timedelta(hours=1)
    assert next_episode_step(None, is_spike=False, now=NOW, cooldown=cooldown) is EpisodeStep.NOTHING
    assert next_episode_step(None, is_spike=True, now=NOW, cooldown=cooldown) is EpisodeStep.OPEN
    episode = EpisodeState(started_at=NOW, last_spike_at=NOW)
    later = NOW + timedelta(minutes=10)
    assert next_episode_step(episode, is_spike=True, now=later, cooldown=cooldown) is EpisodeStep.EXTEND
    # A dip below the threshold inside the cooldown does not end it (no flapping alerts)...
    assert next_episode_step(episode, is_spike=False, now=later, cooldown=cooldown) is EpisodeStep.NOTHING
    # ...a whole quiet cooldown does.
    quiet = NOW + timedelta(hours=1)
    assert next_episode_step(episode, is_spike=False, now=quiet, cooldown=cooldown) is EpisodeStep.END


def test_one_check_has_one_key_whatever_the_order_of_its_episodes() -> None:
    episodes = ["touchpoint:delivery:1h", "topic:couriers:1h"]
    key = spike_batch_key(episodes, NOW)
    assert key.startswith("spike:20261123T120000:")
    assert key == spike_batch_key(list(reversed(episodes)), NOW)  # a rerun of the same check
    assert key != spike_batch_key(episodes[:1], NOW)
    assert key != spike_batch_key(episodes, NOW + timedelta(hours=2))
