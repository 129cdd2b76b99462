"""The vectorised predictor core: no look-ahead, resolution, calibration, ids."""

from __future__ import annotations

import numpy as np
import pytest

from app.predictor.models import MODEL_KINDS
from tests.predictor.synthetic import altered_after, bar_sets, make_core, random_walk


def test_no_look_ahead_predictions_up_to_t_are_bit_for_bit_unchanged() -> None:
    closes = random_walk(600, 4, seed=1)
    t = 400
    altered = altered_after(closes, t)
    sets_a, clock_a = bar_sets(closes)
    sets_b, clock_b = bar_sets(altered)
    for k in range(t + 1, len(sets_b)):  # volumes too
        sets_b[k].volume[:] = 1e9
    core_a, core_b = make_core(sets_a, clock_a), make_core(sets_b, clock_b)
    created_a = [b for bars in sets_a for b in core_a.step(bars).created]
    created_b = [b for bars in sets_b for b in core_b.step(bars).created]
    anchor_t = sets_a[t].close_ts
    compared = 0
    for a, b in zip(created_a, created_b, strict=True):
        if a.ts_pred > anchor_t:
            continue
        assert (a.model_kinds, a.horizon, a.ts_target) == (b.model_kinds, b.horizon, b.ts_target)
        for name in ("ids", "pred_ret", "pred_ret_adj", "calib_bias"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        compared += 1
    assert compared == (t + 1) * 2
    ridge = created_a[0].model_kinds.index("ridge")
    later = [(a, b) for a, b in zip(created_a, created_b, strict=True) if a.ts_pred > anchor_t]
    assert any(not np.array_equal(a.pred_ret[ridge], b.pred_ret[ridge]) for a, b in later), "alteration matters later"


def test_each_prediction_resolves_at_its_target_with_the_log_return() -> None:
    closes = random_walk(50, 3, seed=2)
    sets, clock = bar_sets(closes)
    core = make_core(sets, clock, kinds=("zero",), horizons=(2,))
    cycles = [core.step(b) for b in sets]
    made = {int(i): (b.ts_pred, b.ts_target) for c in cycles for b in c.created for i in b.ids[0][b.made]}
    resolved = {}
    for c in cycles:
        for r in c.resolved:
            assert r.block.ts_target == c.anchor
            for j in np.flatnonzero(r.ok):
                resolved[int(r.block.ids[0, j])] = r.actual_ret[j]
    index = {int(ts): k for k, ts in enumerate(b.close_ts for b in sets)}
    for pid, (ts_pred, ts_target) in made.items():
        if ts_target > sets[-1].close_ts:
            assert pid not in resolved
            continue
        assert index[ts_target] - index[ts_pred] == 2
    some = next(iter(resolved))
    assert np.isfinite(resolved[some])
    assert len(made) == len(set(made)) and min(made) == 1


def test_calibration_learns_a_constant_drift() -> None:
    closes = random_walk(1500, 5, seed=3, drift=0.0005, vol=0.0002)
    sets, clock = bar_sets(closes)
    core = make_core(sets, clock, kinds=("zero",), horizons=(1, 5), calib_halflife=50)
    last = [core.step(b) for b in sets][-1]
    by_h = {b.horizon: b for b in last.created}
    np.testing.assert_allclose(by_h[1].calib_bias[0], 0.0005, rtol=0.1)
    np.testing.assert_allclose(by_h[5].calib_bias[0], 0.0025, rtol=0.1)
    res = [r for r in last.resolved if r.block.horizon == 1][0]
    assert np.all(res.calibration["hit_rate"][0] > 0.95)  # the drift dominates the noise
    assert np.all(res.calibration["n"][0] > 1000)


def test_missing_close_at_target_expires_and_instruments_without_bars_get_no_prediction() -> None:
    closes = random_walk(30, 2, seed=4)
    closes[20, 1] = np.nan
    sets, clock = bar_sets(closes)
    core = make_core(sets, clock, kinds=("zero",), horizons=(1,))
    cycles = [core.step(b) for b in sets]
    at_gap = cycles[20]
    (res,) = at_gap.resolved
    assert res.ok.tolist() == [True, False] and res.expired.tolist() == [False, True]
    (block,) = at_gap.created
    assert block.made.tolist() == [True, False]


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_models_give_finite_predictions(kind: str) -> None:
    closes = random_walk(400, 3, seed=5)
    sets, clock = bar_sets(closes)
    core = make_core(sets, clock, kinds=(kind,))
    for bars in sets:
        cycle = core.step(bars)
    for block in cycle.created:
        assert np.all(np.isfinite(block.pred_ret[:, block.made]))


class ConstantModel:
    """A promoted model of fixed output: what app.registry's LoadedModel provides, minus training."""

    def __init__(self, value: float, horizons: tuple[int, ...]) -> None:
        self.model_kind = f"const:{value}"
        self.horizons = horizons
        self.value = value

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full((len(self.horizons), features.shape[0]), self.value)


def test_promoted_model_takes_over_its_instrument_and_horizons_with_fresh_calibration() -> None:
    closes = random_walk(40, 2, seed=6, drift=0.001, vol=0.0001)
    sets, clock = bar_sets(closes)
    core = make_core(sets, clock, kinds=("zero",), horizons=(1, 5))
    for bars in sets[:30]:
        core.step(bars)
    assert core.calibration.n[0, 0].tolist() == [26, 26]
    core.use_promoted({sets[0].instruments[1]: ConstantModel(0.01, (1,))})
    assert core.calibration.n[0, 0].tolist() == [26, 0]  # the new model starts its own calibration
    assert core.calibration.n[0, 1].tolist() == [22, 22]  # horizon 5 keeps the configured model
    cycle = core.step(sets[30])
    h1, h5 = cycle.created
    assert [h1.model_kind(0, i) for i in range(2)] == ["zero", "const:0.01"]
    assert [h5.model_kind(0, i) for i in range(2)] == ["zero", "zero"]
    assert h1.pred_ret[0].tolist() == [0.0, 0.01]
    core.use_promoted({})
    assert core.step(sets[31]).created[0].promoted_kinds is None
