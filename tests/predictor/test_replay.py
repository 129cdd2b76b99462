"""The backtest's fast path (PredictorCore.replay) against the live core stepped anchor by anchor.

Both run the kernels of app.predictor.kernels; these tests prove the compiled loop around
them (pending blocks, resolution order, calibration, scoring) gives exactly what `step` gives.
"""

from __future__ import annotations

import numpy as np

from app.market.bars import BarSet
from app.market.calendar import ObservedCalendar
from app.predictor.backtest import OHLCV, Aligned, run_backtest
from app.predictor.models import MODEL_KINDS
from tests.predictor.synthetic import MINUTE, altered_after, bar_sets, make_core, random_walk

HORIZONS = (1, 3, 7)


def gappy_closes(steps: int, n: int, seed: int) -> np.ndarray:
    """Random walks with missing bars: scattered NaN closes, an instrument halted for a stretch."""
    closes = random_walk(steps, n, seed=seed)
    rng = np.random.default_rng(seed)
    closes[rng.random(closes.shape) < 0.05] = np.nan
    closes[100:160, 0] = np.nan
    return closes


def with_session_breaks(closes: np.ndarray) -> tuple[list[BarSet], ObservedCalendar]:
    """BarSets whose anchors jump overnight every 75 bars (targets count bars, not minutes)."""
    sets, _ = bar_sets(closes)
    close_ts = np.array([b.close_ts for b in sets]) + 17 * 3600 * (np.arange(len(sets)) // 75)
    moved = [
        BarSet(b.interval, int(ts) - 60, int(ts), b.instruments, b.open, b.high, b.low, b.close, b.volume)
        for b, ts in zip(sets, close_ts, strict=True)
    ]
    return moved, ObservedCalendar(close_ts)


def test_replay_gives_exactly_what_the_live_core_gives_every_model_and_horizon() -> None:
    closes = gappy_closes(700, 5, seed=11)
    sets, clock = with_session_breaks(closes)
    live = make_core(sets, clock, horizons=HORIZONS)
    cycles = [live.step(bars) for bars in sets]
    replayed = make_core(sets, clock, horizons=HORIZONS)
    history = replayed.replay(closes, record=True)

    resolved = 0
    for t, cycle in enumerate(cycles):
        for k, block in enumerate(cycle.created):
            assert block.horizon == HORIZONS[k]
            np.testing.assert_array_equal(block.made, history.made[t])
            np.testing.assert_array_equal(block.pred_ret, history.pred_ret[t, k])
            np.testing.assert_array_equal(block.calib_bias, history.calib_bias[t, k])
            np.testing.assert_array_equal(block.pred_ret_adj, history.pred_ret_adj[t, k])
        assert [r.block.horizon for r in cycle.resolved] == [h for h in HORIZONS if t >= h]
        for res in cycle.resolved:
            k = HORIZONS.index(res.block.horizon)
            np.testing.assert_array_equal(res.ok, history.ok[t, k])
            np.testing.assert_array_equal(res.actual_ret, history.actual_ret[t, k])
            np.testing.assert_array_equal(res.error, history.error[t, k])
            np.testing.assert_array_equal(res.calibration_n, history.calibration_n[t, k])
            np.testing.assert_array_equal(res.calibration_sums, history.calibration_sums[t, k])
            resolved += int(res.ok.sum())
    assert resolved > 0.8 * 700 * 5 * len(HORIZONS)
    ridge = MODEL_KINDS.index("ridge")
    assert np.abs(history.pred_ret[-1, :, ridge]).max() > 0, "the ridge has fitted by the end"
    np.testing.assert_array_equal(live.calibration.sums, replayed.calibration.sums)  # the state it leaves too
    np.testing.assert_array_equal(live.features.feature_history, replayed.features.feature_history)


def test_backtest_report_is_the_same_on_the_fast_path_and_stepped() -> None:
    closes = gappy_closes(500, 3, seed=12)
    close_ts = 1_767_225_600 + 60 * np.arange(1, 501)
    data = Aligned(tuple(f"NSE_EQ|T{i}" for i in range(3)), close_ts - 60, close_ts, dict.fromkeys(OHLCV, closes))
    fast = run_backtest(data, MINUTE, horizons=(1, 5), evaluate=True)
    stepped = run_backtest(data, MINUTE, horizons=(1, 5), stepped=True)
    assert fast.up_share == stepped.up_share and fast.outcomes == stepped.outcomes > 1000
    for a, b in zip(fast.rows(), stepped.rows(), strict=True):
        assert a.keys() == b.keys() and a["n"] == b["n"]
        for key in a:  # sums over the same numbers, in another order
            assert a[key] == b[key] or abs(float(a[key]) - float(b[key])) < 1e-12, key  # type: ignore[arg-type]
    # what the forecast evaluation reads: every resolved prediction, the same on both paths
    fast_panels, stepped_panels = fast.panels(), stepped.panels()
    assert len(fast_panels) == len(stepped_panels) == 2 * len(MODEL_KINDS)
    for a, b in zip(fast_panels, stepped_panels, strict=True):
        assert (a.model_kind, a.horizon) == (b.model_kind, b.horizon)
        for name in ("ts_pred", "ts_target", "pred", "actual"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert a._resolves_h_rows_later()  # the evaluation's persistence forecast needs no search


def test_replays_side_by_side_by_horizon_give_the_report_of_one_replay() -> None:
    """`run_backtest(threads=2)` replays each share of the horizons on a core of its own, in
    threads: every figure and every resolved prediction is the one replay's, to the bit."""
    closes = gappy_closes(500, 3, seed=14)
    close_ts = 1_767_225_600 + 60 * np.arange(1, 501)
    data = Aligned(tuple(f"NSE_EQ|T{i}" for i in range(3)), close_ts - 60, close_ts, dict.fromkeys(OHLCV, closes))
    one = run_backtest(data, MINUTE, horizons=(1, 5, 15), evaluate=True, threads=1)
    two = run_backtest(data, MINUTE, horizons=(1, 5, 15), evaluate=True, threads=2)
    assert (one.ups, one.outcomes) == (two.ups, two.outcomes) and one.outcomes > 1000
    assert one.rows() == two.rows()
    for a, b in zip(one.panels(), two.panels(), strict=True):
        assert (a.model_kind, a.horizon) == (b.model_kind, b.horizon)
        for name in ("ts_pred", "ts_target", "pred", "actual"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_no_look_ahead_on_the_fast_path() -> None:
    closes = gappy_closes(600, 4, seed=13)
    t = 400
    altered = altered_after(closes, t)
    sets, clock = bar_sets(closes)
    a = make_core(sets, clock, horizons=HORIZONS).replay(closes, record=True)
    b = make_core(sets, clock, horizons=HORIZONS).replay(altered, record=True)
    for name in ("made", "pred_ret", "calib_bias", "ok", "actual_ret", "error", "calibration_n", "calibration_sums"):
        np.testing.assert_array_equal(getattr(a, name)[: t + 1], getattr(b, name)[: t + 1], err_msg=name)
    ridge = MODEL_KINDS.index("ridge")
    assert not np.array_equal(a.pred_ret[t + 1 :, :, ridge], b.pred_ret[t + 1 :, :, ridge]), "alteration matters later"
