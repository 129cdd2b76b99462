"""The skill test (app.predictor.skill) on small cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from app.predictor.skill import GRID, PairSkill, SkillConfig, SkillState, critical_hits

CONFIG = SkillConfig(alpha=0.05, window=200, min_resolutions=10)


def feed(pair: PairSkill, actual: np.ndarray, pred: np.ndarray) -> list[SkillState]:
    return [pair.record(float(a), float(p), ts) for ts, (a, p) in enumerate(zip(actual, pred, strict=True))]


def alternating_hits(count: int) -> tuple[np.ndarray, np.ndarray]:
    moves = np.where(np.arange(count) % 2 == 0, 0.001, -0.001)
    return moves, moves * 0.5


def test_all_hits_are_skilled_once_the_window_allows() -> None:
    states = feed(PairSkill(1, CONFIG), *alternating_hits(12))
    assert states[:9] == [SkillState.UNTESTED] * 9  # fewer than min_resolutions
    assert states[9:] == [SkillState.SKILLED] * 3  # 10 of 10 at chance 0.5: p = 0.001


def test_overlapping_horizons_count_n_over_h_resolutions() -> None:
    """At h = 5, 24 straight hits are 4 independent ones (p = 0.0625): no skill yet; 25 are 5 (0.031)."""
    states = feed(PairSkill(5, CONFIG), *alternating_hits(26))
    assert states[9:24] == [SkillState.NO_SKILL] * 15
    assert states[24:] == [SkillState.SKILLED] * 2


def test_a_fair_coin_is_not_skilled_and_false_positives_stay_near_alpha() -> None:
    skilled = 0
    seeds = 600
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        actual, pred = rng.standard_normal(CONFIG.window), rng.standard_normal(CONFIG.window)
        skilled += feed(PairSkill(1, CONFIG), actual, pred)[-1] is SkillState.SKILLED
    rate = skilled / seeds
    assert rate <= CONFIG.alpha + 0.02  # the test keeps its size (binomial noise over 600 seeds: ~0.009)
    assert rate >= CONFIG.alpha / 3  # and is not so conservative it never fires


def test_always_up_in_a_rising_market_is_judged_against_the_up_share_not_a_half() -> None:
    """65 % of moves up, a forecaster that always says up hits 65 %: that is chance, not skill."""
    rng = np.random.default_rng(7)
    actual = np.where(rng.random(CONFIG.window) < 0.65, 0.001, -0.001)
    pair = PairSkill(1, CONFIG)
    states = feed(pair, actual, np.full(CONFIG.window, 0.0005))
    assert pair.hits / pair.n > 0.6 and pair.p0 == pytest.approx(pair.hits / pair.n)
    assert SkillState.SKILLED not in states


def test_the_window_rolls_skill_in_and_out() -> None:
    config = SkillConfig(alpha=0.05, window=40, min_resolutions=40)
    pair = PairSkill(1, config)
    rng = np.random.default_rng(3)
    assert feed(pair, *alternating_hits(40))[-1] is SkillState.SKILLED
    noise = feed(pair, rng.standard_normal(40), rng.standard_normal(40))  # the hits roll out
    assert noise[-1] is SkillState.NO_SKILL and pair.n == 40 and pair.spells == 1


def test_the_critical_counts_are_the_binomial_tests() -> None:
    for g in (0, 100, 197, 200, 263, 400):
        crit = critical_hits(0.05, 60, g)
        for n in (1, 5, 17, 60):
            p, k = g / GRID, int(crit[n])
            if k <= n:
                assert stats.binomtest(k, n, p, alternative="greater").pvalue <= 0.05
            if 0 < k:
                assert k - 1 > n or stats.binomtest(k - 1, n, p, alternative="greater").pvalue > 0.05
