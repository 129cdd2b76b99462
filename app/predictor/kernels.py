"""The predictor's arithmetic as compiled kernels (numba): the one implementation of it.

Each kernel does one part of an anchor for every instrument at once: the feature update, the
rolling ridge (catch up its window sums, solve, predict), the momentum model, resolving a
block of predictions into the calibration, and the calibration bias. The live core
(PredictorCore.step) calls them once per anchor from Python; `run_history` runs the very same
functions (compiled into it: `inlined`) once per anchor in one compiled loop over a whole
history (the backtest). So both uses do the same floating-point operations in the same order:
identical results.

State lives in numpy arrays owned by FeatureState, RollingRidge and Calibration; the kernels
update it in place. Scalars a kernel must change are one-element arrays (`counters`).

Compiled on first call and cached on disk (`cache=True`, in __pycache__ beside this file), so
only the first process after a change pays the compile. Imported lazily by the classes that
use it: importing numba costs ~0.3 s, and every server process imports app.predictor whether
or not it runs the predictor. `error_model="numpy"`: a division by zero gives inf/NaN, as in
numpy, instead of raising.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

N_FEATURES = 7  # app.predictor.features.FEATURE_NAMES

ZERO, EWMA, RIDGE = 0, 1, 2  # model codes of run_history, by kind
MODEL_CODES = {"zero": ZERO, "ewma": EWMA, "ridge": RIDGE}

kernel = njit(cache=True, error_model="numpy", nogil=True)
inlined = njit(cache=True, error_model="numpy", nogil=True, inline="always")
"""For the kernels `run_history` calls at every anchor: compiled into it (numba IR inlining), so
an anchor does not pay, per call, a reference count taken and dropped on every array passed (a
fifth of a one-instrument replay: three models at one horizon, 52.7 -> 42.5 ms). Called from
Python (the live step) they are the same functions compiled on their own: the same operations
in the same order either way."""


# --- features --------------------------------------------------------------------------


@inlined
def update_features(close, last_close, rets, ewm, alphas, seen, feature_history, close_history, count, out):
    """Fold one anchor's closes (n,) (NaN: no bar) into the state and write the feature rows to
    `out` (n, F) and to the history ring at slot `count % window`.

    `rets` (3, n): the last three one-bar log returns, newest first; `ewm` (3, n): EWMAs of the
    return (fast, slow) and of its square, with smoothing `alphas` (3,). An instrument's state
    moves only when it has a close now and one before.
    """
    slot = count % feature_history.shape[0]
    for i in range(close.shape[0]):
        c = close[i]
        r = np.log(c / last_close[i])
        if np.isfinite(r):
            rets[2, i] = rets[1, i]
            rets[1, i] = rets[0, i]
            rets[0, i] = r
            ewm[0, i] += alphas[0] * (r - ewm[0, i])
            ewm[1, i] += alphas[1] * (r - ewm[1, i])
            ewm[2, i] += alphas[2] * (r * r - ewm[2, i])
            seen[i] += 1
        if np.isfinite(c):
            last_close[i] = c
        vol = math.sqrt(ewm[2, i])
        out[i, 0] = rets[0, i]
        out[i, 1] = rets[1, i]
        out[i, 2] = rets[2, i]
        out[i, 3] = ewm[0, i]
        out[i, 4] = ewm[1, i]
        out[i, 5] = vol
        out[i, 6] = rets[0, i] / (vol if vol > 0 else 1.0)
        for f in range(N_FEATURES):
            feature_history[slot, i, f] = out[i, f]
        close_history[slot, i] = last_close[i]


# --- models ----------------------------------------------------------------------------


@inlined
def ewma_predict(features, horizons, out):
    """Momentum: h times the fast EWMA of one-bar returns, into `out` (H, n)."""
    for k in range(horizons.shape[0]):
        for i in range(features.shape[0]):
            out[k, i] = horizons[k] * features[i, 3]


@inlined
def ridge_predict(features, horizons, history, count, sums, coef, counters, params, out):
    """The rolling ridge at one anchor (see RollingRidge), into `out` (H, n).

    `history`: (feature_history, close_history) after this anchor's update, `count` anchors in
    it. `sums`: (count, sx, sy, sxx, sxy) per horizon and instrument (sxx: upper triangle). `counters`: [anchors
    seen, anchors whose entering samples are in the sums, 1 once solved]. `params`: (window,
    refit_every, alpha, min_samples).
    """
    window, refit_every, alpha, min_samples = params
    counters[0] += 1
    if counters[2] == 0 or counters[0] % int(refit_every) == 0:
        _catch_up(horizons, history, count, sums, counters[0] - counters[1], int(window))
        counters[1] = counters[0]
        _solve(sums, coef, alpha, min_samples)
        counters[2] = 1
    for k in range(horizons.shape[0]):
        for i in range(features.shape[0]):
            total = coef[k, i, N_FEATURES]
            for f in range(N_FEATURES):
                total += features[i, f] * coef[k, i, f]
            out[k, i] = total


@kernel
def _catch_up(horizons, history, count, sums, steps, window):
    """Add the samples whose target closed in the last `steps` anchors (lags h .. h+steps-1) and
    remove those that left the window (the same lags + window)."""
    feature_history, close_history = history
    n_sum, sx, sy, sxx, sxy = sums
    ring = feature_history.shape[0]
    for k in range(horizons.shape[0]):
        h = horizons[k]
        for step in range(steps):
            for sign, lag in ((1.0, h + step), (-1.0, h + step + window)):
                age = count - 1 - lag  # the anchor index whose features the sample has
                if age < 0:
                    continue
                slot, target = age % ring, (age + h) % ring
                for i in range(feature_history.shape[1]):
                    y = np.log(close_history[target, i] / close_history[slot, i])
                    x = feature_history[slot, i]
                    if not _finite(y, x):
                        continue
                    n_sum[k, i] += sign
                    sy[k, i] += sign * y
                    for a in range(N_FEATURES):
                        wx = sign * x[a]
                        sx[k, i, a] += wx
                        sxy[k, i, a] += wx * y
                        for b in range(a, N_FEATURES):  # the upper triangle: x x^T is symmetric
                            sxx[k, i, a, b] += wx * x[b]


@kernel
def _finite(y, x):
    """A usable sample: its target and every feature finite."""
    if not np.isfinite(y):
        return False
    for value in x:
        if not np.isfinite(value):
            return False
    return True


@kernel
def _solve(sums, coef, alpha, min_samples):
    """Coefficients (H, n, F + 1) of ridge on standardised features from the window sums (last
    column the intercept); zeros below `min_samples`.

    The 7x7 systems are solved here by Gaussian elimination with partial pivoting: a LAPACK
    call per tiny system costs more than the solve itself.
    """
    n_sum, sx, sy, sxx, sxy = sums
    mx = np.empty(N_FEATURES)
    scale = np.empty(N_FEATURES)
    gram = np.empty((N_FEATURES, N_FEATURES))
    rhs = np.empty(N_FEATURES)
    for k in range(n_sum.shape[0]):
        for i in range(n_sum.shape[1]):
            if n_sum[k, i] < min_samples:
                coef[k, i].fill(0.0)
                continue
            c = max(n_sum[k, i], 1.0)
            my = sy[k, i] / c
            for a in range(N_FEATURES):
                mx[a] = sx[k, i, a] / c
            for a in range(N_FEATURES):
                s = math.sqrt(max(sxx[k, i, a, a] / c - mx[a] * mx[a], 0.0))
                scale[a] = s if s > 1e-12 else 1.0
            for a in range(N_FEATURES):
                for b in range(N_FEATURES):
                    cov = sxx[k, i, min(a, b), max(a, b)] / c - mx[a] * mx[b]
                    gram[a, b] = cov / (scale[a] * scale[b]) * c + (alpha if a == b else 0.0)
                rhs[a] = (sxy[k, i, a] / c - mx[a] * my) / scale[a] * c
            _solve_in_place(gram, rhs)
            intercept = my
            for a in range(N_FEATURES):
                beta = rhs[a] / scale[a]
                coef[k, i, a] = beta
                intercept -= beta * mx[a]
            coef[k, i, N_FEATURES] = intercept


@kernel
def _solve_in_place(a, b):
    """a x = b by Gaussian elimination with partial pivoting; x overwrites b, a is destroyed."""
    size = b.shape[0]
    for col in range(size):
        pivot = col
        for row in range(col + 1, size):
            if abs(a[row, col]) > abs(a[pivot, col]):
                pivot = row
        if pivot != col:
            for j in range(size):
                a[col, j], a[pivot, j] = a[pivot, j], a[col, j]
            b[col], b[pivot] = b[pivot], b[col]
        for row in range(col + 1, size):
            factor = a[row, col] / a[col, col]
            for j in range(col, size):
                a[row, j] -= factor * a[col, j]
            b[row] -= factor * b[col]
    for row in range(size - 1, -1, -1):
        total = b[row]
        for j in range(row + 1, size):
            total -= a[row, j] * b[j]
        b[row] = total / a[row, row]


# --- calibration -----------------------------------------------------------------------


@kernel
def _sign(x):
    """np.sign: -1, 0 or 1, NaN for NaN."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return x


@inlined
def resolve(close, block, on_target, calib_n, calib_sums, k, decay, ok, actual, error):
    """Resolve a block of predictions made for this anchor and fold the outcomes into horizon
    row `k` of the calibration.

    `block`: (made (n,), close_pred (n,), pred_ret (M, n), pred_ret_adj (M, n)). Writes `ok`
    (n,): resolved (made, a close now, and this anchor is the block's target); `actual` (n,):
    the log return, 0 where not ok; `error` (M, n) = actual - pred_ret_adj. Where ok, every
    sum of SUMS decays by `decay` and takes the new value (weight 1, residual, |error|,
    error^2, hit); `calib_n` counts.
    """
    made, close_pred, pred_ret, pred_ret_adj = block
    for i in range(close.shape[0]):
        ok[i] = on_target and made[i] and np.isfinite(close[i])
        actual[i] = np.log(close[i] / close_pred[i]) if ok[i] else 0.0
    for m in range(pred_ret.shape[0]):
        for i in range(close.shape[0]):
            e = actual[i] - pred_ret_adj[m, i]
            error[m, i] = e
            if ok[i]:
                calib_n[m, k, i] += 1
                hit = 1.0 if _sign(actual[i]) == _sign(pred_ret_adj[m, i]) else 0.0
                for j, value in enumerate((1.0, actual[i] - pred_ret[m, i], abs(e), e * e, hit)):
                    calib_sums[j, m, k, i] = calib_sums[j, m, k, i] * decay + value


@inlined
def calibration_bias(calib_sums, k, out):
    """calib_bias (M, n) of horizon row `k`: the EW mean residual, 0 before any resolution."""
    for m in range(calib_sums.shape[1]):
        for i in range(calib_sums.shape[3]):
            w = calib_sums[0, m, k, i]
            out[m, i] = calib_sums[1, m, k, i] / w if w > 0 else 0.0


# --- a whole history -------------------------------------------------------------------


@kernel
def run_history(close, horizons, codes, min_history, features, ridge, calibration, scores, record):
    """Every anchor of `close` (T, n), in order, through the kernels above: resolve, update
    features, predict with each model (`codes`), add the calibration bias. The target of a
    prediction made at row t with horizon h is row t + h (the data's own bars).

    `features`: (last_close, rets, ewm, alphas, seen, feature_history, close_history, count (1,)).
    `ridge`: (sums, coef, counters, params) of the ridge model, if `codes` has one.
    `calibration`: (calib_n, calib_sums, decay).
    `scores`: (score (H, 7, M) in the rows of core.SCORE_ROWS, tally [ups, outcomes]),
    summed over resolved predictions.
    `record`: per-anchor outputs, arrays of length T (or 0 to record nothing; error and the
    calibration's arrays may be 0 long while the others are T: the outcomes only): made (T, n),
    pred_ret, calib_bias (T, H, M, n), at the anchor a prediction is made; ok, actual_ret
    (T, H, n), error, calibration_n (T, H, M, n), calibration_sums (T, H, 5, M, n), at the
    anchor it resolves.
    """
    last_close, rets, ewm, alphas, seen, feature_history, close_history, count = features
    calib_n, calib_sums, decay = calibration
    score, tally = scores
    rec_made, rec_pred, rec_bias, rec_ok, rec_actual, rec_error, rec_n, rec_sums = record
    recording = rec_made.shape[0] > 0
    recording_all = rec_error.shape[0] > 0  # else only the outcomes (no error or calibration)
    steps, n = close.shape
    models, n_h = codes.shape[0], horizons.shape[0]
    ring = horizons.max() + 1  # blocks in flight, by the row they were made at
    made = np.zeros((ring, n), dtype=np.bool_)
    close_pred = np.empty((ring, n))
    pred = np.zeros((ring, n_h, models, n))
    adj = np.zeros((ring, n_h, models, n))
    model_out = np.empty((n_h, n))
    feature_rows = np.empty((n, N_FEATURES))
    bias = np.empty((models, n))
    ok = np.empty(n, dtype=np.bool_)
    actual = np.empty(n)
    error = np.empty((models, n))
    for t in range(steps):
        now = close[t]
        for k in range(n_h):
            made_at = t - horizons[k]
            if made_at < 0:
                continue
            s = made_at % ring
            resolve(
                now,
                (made[s], close_pred[s], pred[s, k], adj[s, k]),
                True,
                calib_n,
                calib_sums,
                k,
                decay,
                ok,
                actual,
                error,
            )
            _score(ok, actual, pred[s, k], adj[s, k], error, score[k], tally)
            if recording:
                rec_ok[t, k] = ok
                rec_actual[t, k] = actual
            if recording_all:
                rec_error[t, k] = error
                rec_n[t, k] = calib_n[:, k]
                rec_sums[t, k] = calib_sums[:, :, k]
        update_features(
            now, last_close, rets, ewm, alphas, seen, feature_history, close_history, count[0], feature_rows
        )
        count[0] += 1
        s = t % ring
        for i in range(n):
            made[s, i] = np.isfinite(now[i]) and seen[i] >= min_history
            close_pred[s, i] = now[i]
        for m in range(models):
            if codes[m] == ZERO:
                model_out.fill(0.0)
            elif codes[m] == EWMA:
                ewma_predict(feature_rows, horizons, model_out)
            else:
                sums, coef, counters, params = ridge
                history = (feature_history, close_history)
                ridge_predict(feature_rows, horizons, history, count[0], sums, coef, counters, params, model_out)
            for k in range(n_h):
                for i in range(n):
                    pred[s, k, m, i] = model_out[k, i]
        for k in range(n_h):
            calibration_bias(calib_sums, k, bias)
            for m in range(models):
                for i in range(n):
                    adj[s, k, m, i] = pred[s, k, m, i] + bias[m, i]
            if recording:
                rec_pred[t, k] = pred[s, k]
                rec_bias[t, k] = bias
        if recording:
            rec_made[t] = made[s]


@inlined
def _score(ok, actual, pred, adj, error, score, tally):
    """Add resolved predictions to one horizon's score (rows of core.SCORE_ROWS, per model)."""
    for i in range(ok.shape[0]):
        if not ok[i]:
            continue
        tally[0] += actual[i] > 0
        tally[1] += 1
        sign = _sign(actual[i])
        for m in range(pred.shape[0]):
            raw = actual[i] - pred[m, i]
            score[0, m] += 1
            score[1, m] += sign == _sign(pred[m, i])
            score[2, m] += sign == _sign(adj[m, i])
            score[3, m] += abs(raw)
            score[4, m] += abs(error[m, i])
            score[5, m] += raw
            score[6, m] += error[m, i]


# --- the evaluation's sort --------------------------------------------------------------

RADIX_BITS = 11  # digits of 11 bits: 2,048 counters a pass (in L1), 6 passes over 64-bit keys


@kernel
def stable_argsort(values):
    """`np.argsort(values, kind="stable")` of finite float64 values (-0.0 sorts as 0.0, its
    equal): a least-significant-digit radix sort of their bits made order-preserving (the sign
    bit flipped for positives, every bit for negatives), skipping a digit every value shares.
    The forecast evaluation sorts with it (app.predictor.evaluation): about twice as fast as
    numpy's unstable argsort at 94,000 values (2.5 against 4.9 ms), and stable, so ties need no
    second pass (numpy's sorts run without SIMD in this wheel: docs/predictor.md)."""
    n = len(values)
    raw = (values + 0.0).view(np.uint64)  # + 0.0: -0.0 becomes 0.0
    top = np.uint64(1) << np.uint64(63)
    keys = np.empty(n, np.uint64)
    for j in range(n):
        keys[j] = ~raw[j] if raw[j] & top else raw[j] | top
    radix = 1 << RADIX_BITS
    mask = np.uint64(radix - 1)
    passes = -(-64 // RADIX_BITS)
    counts = np.zeros((passes, radix + 1), np.int64)
    for j in range(n):
        key = keys[j]
        for d in range(passes):
            counts[d, ((key >> np.uint64(RADIX_BITS * d)) & mask) + 1] += 1
    order = np.arange(n)
    spare = np.empty(n, np.int64)
    for d in range(passes):
        starts = counts[d]
        if starts.max() == n:  # every value has this digit: the pass would change nothing
            continue
        for b in range(radix):
            starts[b + 1] += starts[b]
        shift = np.uint64(RADIX_BITS * d)
        for j in range(n):
            i = order[j]
            b = (keys[i] >> shift) & mask
            spare[starts[b]] = i
            starts[b] += 1
        order, spare = spare, order
    return order
