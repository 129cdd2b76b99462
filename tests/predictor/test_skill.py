"""The skill test (app.predictor.skill) on small cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from app.events import Calibration, PredictionResolved
from app.predictor.skill import GRID, STATES, PairSkill, SkillBook, SkillConfig, SkillState, critical_hits

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


@pytest.mark.parametrize(("horizon", "window", "min_resolutions"), [(1, 60, 20), (3, 40, 40), (5, 500, 100)])
def test_folding_a_whole_record_in_columns_is_recording_each_resolution(
    horizon: int, window: int, min_resolutions: int
) -> None:
    """`SkillBook.fold` (a backtest's whole record) against `on_resolved` one at a time: the
    state after each resolution and the pair it leaves, over a record with skill that comes and
    goes, flat and NaN moves, and the calibration restarting twice (a new model: a new record)."""
    config = SkillConfig(alpha=0.1, window=window, min_resolutions=min_resolutions)
    rng = np.random.default_rng(window)
    size = 3000
    actual = rng.choice([-1.0, 1.0], size) * rng.uniform(0.001, 0.01, size)
    skilled_spell = (np.arange(size) // 400) % 2 == 1
    pred = np.where(skilled_spell & (rng.random(size) < 0.8), actual, rng.standard_normal(size)) * 0.5
    actual[rng.random(size) < 0.03] = 0.0
    actual[rng.random(size) < 0.01] = np.nan
    pred[rng.random(size) < 0.02] = 0.0
    n = np.concatenate([np.arange(1, 1201), np.arange(1, 1001), np.arange(5, 805)])  # falls at 1200, 2200
    ts = 1_700_000_000 + 60 * np.arange(size)
    key = ("NSE_EQ|A", "1m", horizon)

    one_by_one = SkillBook(config)
    expected = [
        one_by_one.on_resolved(resolution(key, int(c), float(a), float(p), int(t)))
        for c, a, p, t in zip(n, actual, pred, ts, strict=True)
    ]
    one_by_one.models[key] = "ridge"
    whole = SkillBook(config)
    states = whole.fold(key, "ridge", n, actual, pred, ts)

    assert [STATES[code] for code in states.tolist()] == expected
    assert {*expected} == set(SkillState)  # every state reached
    mine, theirs = whole.pairs[key], one_by_one.pairs[key]
    assert {s: getattr(mine, s) for s in PairSkill.__slots__ if s != "critical"} == {
        s: getattr(theirs, s) for s in PairSkill.__slots__ if s != "critical"
    }
    assert whole.public() == one_by_one.public()
    with pytest.raises(ValueError, match="already holds a record"):
        whole.fold(key, "ridge", n, actual, pred, ts)


def resolution(key: tuple[str, str, int], n: int, actual: float, pred: float, ts: int) -> PredictionResolved:
    calibration = {"n": n, "bias": 0.0, "mae": 0.0, "rmse": 0.0, "hit_rate": 0.5}
    return PredictionResolved.trusted(
        {
            "id": 1,
            "instrument_key": key[0],
            "interval": key[1],
            "horizon_steps": key[2],
            "ts_pred": ts - 60 * key[2],
            "ts_target": ts,
            "actual_ret": actual,
            "pred_ret_adj": pred,
            "error": 0.0,
            "calibration": Calibration.trusted(calibration),
        }
    )
