"""Forecast evaluation: each figure against an independent computation on cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.tsa import stattools
from statsmodels.tsa.stattools import diebold_mariano_test

from app.predictor import evaluation
from app.predictor.evaluation import (
    Panel,
    diebold_mariano,
    evaluate,
    evaluate_all,
    panels_from_frame,
    ranked_order,
    ranks_of,
    stable_order,
)
from app.predictor.store import EVALUATED

MINUTE = 60


def panel(pred: np.ndarray, actual: np.ndarray, horizon: int = 1, model_kind: str = "ridge") -> Panel:
    ts_pred = 1_767_225_600 + MINUTE * np.arange(len(actual))
    return Panel("1m", model_kind, horizon, ts_pred, ts_pred + MINUTE * horizon, pred, actual)


def outcomes(anchors: int, instruments: int, seed: int = 0) -> np.ndarray:
    return 0.001 * np.random.default_rng(seed).standard_normal((anchors, instruments))


def test_a_perfect_forecast_has_ic_1_and_beats_the_zero_model() -> None:
    actual = outcomes(60, 10)
    result = evaluate(panel(actual.copy(), actual), round_trip=0.0005)
    assert result.ic_anchors == 60 and result.ic_mean == pytest.approx(1.0)
    assert result.rank_ic_mean == pytest.approx(1.0) and result.pooled_ic == pytest.approx(1.0)
    assert result.pooled_rank_ic == pytest.approx(1.0)
    assert result.mase_zero == 0.0
    assert result.dm_sq_stat is not None and result.dm_sq_stat < -10 and result.dm_sq_p < 1e-10
    assert [d.hit_rate for d in result.deciles] == [1.0] * 10
    # Top minus bottom 2 (10 instruments: quintiles of 2) by the outcome itself, in a plain loop.
    spreads = [np.sort(row)[-2:].mean() - np.sort(row)[:2].mean() for row in actual]
    assert result.long_short_gross == pytest.approx(np.mean(spreads))
    assert result.long_short_net == pytest.approx(np.mean(spreads) - 0.001)


def test_a_forecast_equal_to_the_zero_model_has_dm_statistic_0() -> None:
    actual = outcomes(50, 4)
    result = evaluate(panel(np.zeros_like(actual), actual, horizon=3), round_trip=0.0)
    assert (result.dm_sq_stat, result.dm_sq_p, result.dm_abs_stat, result.dm_abs_p) == (0.0, 1.0, 0.0, 1.0)
    assert result.mase_zero == 1.0
    # A constant forecast ranks nothing: no IC, no long-short.
    assert result.ic_anchors == 0 and result.ic_mean is None and result.long_short_gross is None


def test_a_shuffled_forecast_has_ic_near_0_over_many_anchors() -> None:
    actual = outcomes(3000, 10, seed=1)
    shuffled = np.random.default_rng(2).permuted(actual, axis=1)
    result = evaluate(panel(shuffled, actual), round_trip=0.0)
    # The mean of 3000 ICs of independent samples of 10 has a standard error near 0.006.
    assert abs(result.ic_mean) < 0.03 and abs(result.rank_ic_mean) < 0.03
    assert result.ic_std == pytest.approx(1 / 3, abs=0.03)  # sd of r for n=10 under independence
    assert result.dm_sq_stat is not None and result.dm_sq_stat > 5  # worse than predicting 0


def test_ic_figures_match_a_loop_over_anchors_with_missing_instruments() -> None:
    rng = np.random.default_rng(30)
    actual = outcomes(80, 6, seed=3)
    pred = np.round(0.5 * actual + 0.001 * rng.standard_normal(actual.shape), 4)  # ties within anchors
    pred[rng.random(pred.shape) < 0.2] = np.nan  # instruments without a resolved prediction
    actual[5, :4] = np.nan  # an anchor with 2 instruments: no IC, still a long-short
    actual[10:20] = np.round(actual[10:20], 3)  # ties in the outcomes too
    result = evaluate(panel(pred, actual), round_trip=0.0)
    ics, rank_ics, spreads = [], [], []
    for x, y in zip(pred, actual, strict=True):
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if len(x) >= 2:
            k = max(1, len(x) // 5)
            order = np.argsort(x, kind="stable")  # tied forecasts in instrument order
            spreads.append(y[order[-k:]].mean() - y[order[:k]].mean())
        if len(x) >= 3:
            ics.append(np.corrcoef(x, y)[0, 1])
            rank_ics.append(stats.spearmanr(x, y).statistic)
    assert result.ic_anchors == len(ics) < 80
    assert result.ic_mean == pytest.approx(np.mean(ics))
    assert result.ic_std == pytest.approx(np.std(ics, ddof=1))
    assert result.ic_ir == pytest.approx(np.mean(ics) / np.std(ics, ddof=1))
    assert result.rank_ic_mean == pytest.approx(np.mean(rank_ics))
    assert result.rank_ic_std == pytest.approx(np.std(rank_ics, ddof=1))
    assert sum(len(np.unique(x[np.isfinite(x)])) < np.isfinite(x).sum() for x in pred) > 20  # ties were met
    assert result.long_short_anchors == len(spreads)
    assert result.long_short_gross == pytest.approx(np.mean(spreads))
    ok = np.isfinite(pred) & np.isfinite(actual)
    assert result.pooled_ic == pytest.approx(np.corrcoef(pred[ok], actual[ok])[0, 1])
    assert result.n == ok.sum()


def test_diebold_mariano_matches_the_textbook_formula() -> None:
    rng = np.random.default_rng(4)
    d = rng.standard_normal(40) + 0.3
    d = d + 0.6 * np.roll(d, 1)  # autocorrelated, as overlapping h-step errors are
    h, n = 3, len(d)
    mean = d.mean()
    gamma = [sum((d[t] - mean) * (d[t - k] - mean) for t in range(k, n)) / n for k in range(h)]
    variance = gamma[0] + 2 * sum(gamma[1:])
    dm = mean / np.sqrt(variance / n) * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    p = 2 * (1 - stats.t.cdf(abs(dm), df=n - 1))
    assert diebold_mariano(d, h) == pytest.approx((dm, p))
    # At horizon 1 there are no lags, and statsmodels' own test (Bartlett weights beyond lag 0) agrees.
    y, forecast = rng.standard_normal(60), rng.standard_normal(60)
    theirs = diebold_mariano_test(y, forecast, np.zeros(60), lags=0, harvey_adj=True, horizon=1)
    ours = diebold_mariano((y - forecast) ** 2 - y**2, 1)
    assert ours == pytest.approx((theirs.statistic, theirs.pvalue))
    assert diebold_mariano(d[:2], 3) is None  # too short for the correction


def test_single_instrument_gets_pooled_correlation_deciles_and_mase_against_persistence() -> None:
    actual = outcomes(200, 1, seed=5)
    pred = 0.3 * actual + 0.001 * np.random.default_rng(6).standard_normal(actual.shape)
    h = 2
    result = evaluate(panel(pred, actual, horizon=h), round_trip=0.0)
    assert result.ic_anchors == 0 and result.ic_mean is None  # no cross-section
    assert result.pooled_ic == pytest.approx(np.corrcoef(pred[:, 0], actual[:, 0])[0, 1])
    assert result.pooled_rank_ic == pytest.approx(stats.spearmanr(pred[:, 0], actual[:, 0]).statistic)
    # Persistence at anchor t is the actual return of the prediction made h anchors earlier.
    model, persistence = np.abs(actual[h:] - pred[h:]).mean(), np.abs(actual[h:] - actual[:-h]).mean()
    assert result.mase_persistence == pytest.approx(model / persistence)
    assert result.mase_zero == pytest.approx(np.abs(actual - pred).mean() / np.abs(actual).mean())
    order = np.argsort(pred[:, 0], kind="stable")
    for decile, rows in zip(result.deciles, np.split(order, 10), strict=True):
        x, y = pred[rows, 0], actual[rows, 0]
        assert decile.n == 20 and decile.mean_pred == pytest.approx(x.mean())
        assert decile.mean_actual == pytest.approx(y.mean())
        assert decile.hit_rate == pytest.approx(np.mean(np.sign(x) == np.sign(y)))


def test_the_live_record_as_rows_evaluates_as_its_panel() -> None:
    actual = outcomes(30, 5, seed=7)
    pred = actual + 0.001 * np.random.default_rng(8).standard_normal(actual.shape)
    expected = evaluate(panel(pred, actual, horizon=2), round_trip=0.0)
    p = panel(pred, actual, horizon=2)
    rows = pd.DataFrame(
        [
            ("1m", "ridge", 2, f"NSE_EQ|X{i}", p.ts_pred[a], p.ts_target[a], pred[a, i], actual[a, i])
            for a in range(30)
            for i in range(5)
        ],
        columns=list(EVALUATED),
    )
    other = rows.assign(model_kind="zero", pred_ret_adj=0.0)
    panels = panels_from_frame(pd.concat([other, rows.sample(frac=1.0, random_state=1)]))
    assert [(q.model_kind, q.horizon) for q in panels] == [("ridge", 2), ("zero", 2)]
    assert evaluate(panels[0], round_trip=0.0) == expected


def test_ranks_average_ties_as_scipy_does_and_models_of_a_horizon_share_them(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    values = np.round(rng.standard_normal(500), 1)  # many ties
    np.testing.assert_array_equal(ranks_of(values), stats.rankdata(values))
    np.testing.assert_array_equal(ranked_order(values)[1], stats.rankdata(values))
    distinct = rng.standard_normal(500)
    np.testing.assert_array_equal(ranks_of(distinct), stats.rankdata(distinct))
    actual = np.round(outcomes(300, 1, seed=10), 3)  # ties in the outcomes too
    forecasts = {"ridge": actual + 0.002 * rng.standard_normal(actual.shape), "zero": np.zeros_like(actual)}
    forecasts["ewma"] = np.round(forecasts["ridge"], 3)
    shared = [panel(pred, actual, horizon=2) for pred in forecasts.values()]
    alone = [evaluate(p, round_trip=0.0) for p in shared]
    assert evaluate_all(shared, round_trip=0.0, threads=1) == alone  # everything in this thread
    assert evaluate_all(shared, round_trip=0.0, threads=2) == alone  # small panels: their sorts in two threads
    monkeypatch.setattr(evaluation, "THREADED_CELLS", 0)
    assert evaluate_all(shared, round_trip=0.0, threads=2) == alone  # the panels in two threads, one Shared
    for result, pred in zip(alone, forecasts.values(), strict=True):
        want = stats.spearmanr(pred[:, 0], actual[:, 0]).statistic if np.ptp(pred) else None
        assert result.pooled_rank_ic == pytest.approx(want)


def test_the_evaluation_holds_blas_to_one_thread_and_gives_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The autocovariances' dot products run with BLAS on one thread (a pool's threads spin after
    a call, taking a core from what runs next: docs/predictor.md); the process's setting is
    restored after."""
    threads = {lib["filepath"]: lib["num_threads"] for lib in evaluation.blas().info()}
    seen: list[set[int]] = []
    acovf = stattools.acovf

    def watched(*args: object, **kwargs: object) -> np.ndarray:
        seen.append({lib["num_threads"] for lib in evaluation.blas().info()})
        return acovf(*args, **kwargs)

    monkeypatch.setattr(stattools, "acovf", watched)
    actual = outcomes(200, 1)
    with evaluation.blas().limit(limits=2, user_api="blas"):  # two here, whatever the machine's cores
        evaluate_all([panel(actual + 0.001, actual, horizon=3)], round_trip=0.0)
        assert {lib["num_threads"] for lib in evaluation.blas().info()} == {2}
    assert seen and all(s == {1} for s in seen)
    assert {lib["filepath"]: lib["num_threads"] for lib in evaluation.blas().info()} == threads


@pytest.mark.parametrize("ties", ["none", "a few runs", "one long run", "many runs"])
def test_the_forecasts_order_is_a_stable_sort_s(ties: str) -> None:
    values = np.random.default_rng(11).standard_normal(2000)
    if ties == "a few runs":  # put in order one by one
        values[::97] = values[1]
        values[5:1500:300] = values[7]
    elif ties == "one long run":
        values[100:1900] = 0.0
    elif ties == "many runs":
        values = np.round(values, 2)
        values[::50] = -0.0  # equal to 0.0: one run with the zeros
        assert len(values) - len(np.unique(values)) > 1000
    np.testing.assert_array_equal(stable_order(values), np.argsort(values, kind="stable"))
    assert stable_order(values[:0]).size == 0 and stable_order(values[:1]).tolist() == [0]
    order, ranks = ranked_order(values)
    np.testing.assert_array_equal(order, np.argsort(values, kind="stable"))
    np.testing.assert_array_equal(ranks, stats.rankdata(values))
    rows = values[:1800].reshape(90, 20)  # each anchor's order across instruments, and its ranks
    order, ranked = evaluation._row_order(rows)
    np.testing.assert_array_equal(order, np.argsort(rows, axis=1, kind="stable"))
    np.testing.assert_array_equal(evaluation._row_ranks(ranked, order), stats.rankdata(rows, axis=1))


def test_persistence_is_the_return_of_the_first_prediction_that_resolved_at_the_anchor() -> None:
    """Targets out of order and repeated (a live record: several intervals' rows, restarts): the
    persistence forecast at an anchor is the actual return of the first row whose target it is."""
    rng = np.random.default_rng(5)
    ts_pred = 1_767_225_600 + MINUTE * np.arange(40)
    ts_target = ts_pred[rng.integers(0, 40, size=40)] + MINUTE * rng.integers(0, 2, size=40)
    actual = outcomes(40, 3, seed=6)
    result = Panel("1m", "ridge", 1, ts_pred, ts_target, actual, actual).persistence
    first = {}
    for row, target in enumerate(ts_target.tolist()):
        first.setdefault(target, row)
    assert 0 < len(first.keys() & set(ts_pred.tolist())) < 40  # some anchors have one, some not
    for t, anchor in enumerate(ts_pred.tolist()):
        want = actual[first[anchor]] if anchor in first else np.full(3, np.nan)
        np.testing.assert_array_equal(result[t], want)


@pytest.mark.parametrize("horizon", [1, 5])
def test_persistence_of_a_backtests_rows_is_the_outcome_h_rows_before(horizon: int) -> None:
    """A backtest's rows (every anchor; each target the anchor h rows later) take a shortcut:
    the same forecast as the search over targets (the same rows in reverse order take that)."""
    ts_pred = 1_767_225_600 + MINUTE * np.arange(60)
    ts_target = np.r_[ts_pred[horizon:], ts_pred[-1] + MINUTE * np.arange(1, horizon + 1)]
    actual = outcomes(60, 2, seed=7)
    result = Panel("1m", "ridge", horizon, ts_pred, ts_target, actual, actual).persistence
    np.testing.assert_array_equal(result[horizon:], actual[:-horizon])
    assert np.isnan(result[:horizon]).all()
    back = slice(None, None, -1)
    searched = Panel("1m", "ridge", horizon, ts_pred[back], ts_target[back], actual[back], actual[back]).persistence
    np.testing.assert_array_equal(searched[back], result)
