"""The trade backtest's predictions: a whole replay's record (app.predictor.events.ReplayRecord)
against the events the live core gives stepped anchor by anchor."""

from __future__ import annotations

import numpy as np
import pytest

from app.events import Calibration, PredictionCreated, PredictionResolved
from app.predictor.events import CREATED_COLUMNS, ReplayRecord, created_events, created_of, outcomes
from tests.predictor.synthetic import make_core
from tests.predictor.test_replay import HORIZONS, gappy_closes, with_session_breaks


def test_a_replay_record_holds_what_the_stepped_core_s_events_say_every_model_and_horizon() -> None:
    """Its `prediction.created` events are the stepped core's, anchor by anchor; at each stepped
    `prediction.resolved` it holds the same calibration, outcome, forecast and time (what the
    trade backtest judges with, app.trading.judged_replay), and no resolution more."""
    closes = gappy_closes(400, 4, seed=21)
    sets, clock = with_session_breaks(closes)
    live = make_core(sets, clock, horizons=HORIZONS, first_id=50)
    stepped = [(created_events(live, cycle), outcomes(live, cycle)[0]) for cycle in map(live.step, sets)]
    core = make_core(sets, clock, horizons=HORIZONS, first_id=50)
    close_ts = np.array([b.close_ts for b in sets])
    record = ReplayRecord(core, core.replay(closes, record=True), close_ts, 50)
    cell = {int(record.ids[c]): c for c in zip(*np.nonzero(record.made), strict=True)}

    assert sum(len(created) for created, _ in stepped) > 400 * 4 * len(HORIZONS)  # every model, most bars
    assert sum(len(resolved) for _, resolved in stepped) > 0.8 * sum(len(created) for created, _ in stepped)
    for r, (want_created, want_resolved) in enumerate(stepped):
        t, k, m, i = np.nonzero(record.made[r : r + 1])
        assert record.created(t + r, k, m, i) == want_created, r
        assert np.count_nonzero(record.ok[r]) == len(want_resolved), r
        for event in want_resolved:
            t, k, m, i = cell[event.id]
            assert t + record.span[k] == r and record.ok[r, k, m, i]
            calibration = {name: record.calibration[name][r, k, m, i].item() for name in Calibration.model_fields}
            assert Calibration.trusted(calibration) == event.calibration
            assert record.history.actual_ret[r, k, i] == event.actual_ret
            assert (record.adj[t, k, m, i], close_ts[r]) == (event.pred_ret_adj, event.ts_target)
    ends = stepped[-1][0]
    assert ends and max(e.ts_target for e in ends) > close_ts[-1]  # targets beyond the data, as the clock gives


def test_a_block_s_rows_to_store_say_what_its_events_say() -> None:
    """`created_of`: each row (CREATED_COLUMNS) is its event's fields, the bar's close it was made
    at and `open`, in the event's order, for every model and horizon."""
    closes = gappy_closes(120, 3, seed=23)
    sets, clock = with_session_breaks(closes)
    core = make_core(sets, clock, horizons=HORIZONS)
    made = [created_of(core, block) for cycle in map(core.step, sets) for block in cycle.created]
    assert sum(len(m.events) for m in made) > 100 * 3 * len(HORIZONS)
    closes_at = {b.close_ts: dict(zip(b.instruments, b.close.tolist(), strict=True)) for b in sets}
    for block in made:
        assert len(block.rows) == len(block.events)
        for event, row in zip(block.events, block.rows, strict=True):
            stored = dict(zip(CREATED_COLUMNS, row, strict=True))
            assert stored == {
                **event.model_dump(),
                "close_pred": closes_at[event.ts_pred][event.instrument_key],
                "status": "open",
            }


def test_trusted_events_are_what_validation_gives() -> None:
    """The hot paths build their events without validation: each must equal the validated one."""
    closes = gappy_closes(120, 3, seed=22)
    sets, clock = with_session_breaks(closes)
    core = make_core(sets, clock, horizons=HORIZONS)
    events = [e for cycle in map(core.step, sets) for e in (*created_events(core, cycle), *outcomes(core, cycle)[0])]
    assert {type(e) for e in events} == {PredictionCreated, PredictionResolved}
    for event in events:
        assert type(event).model_validate(event.model_dump()) == event
        assert event.model_fields_set == set(type(event).model_fields)
    copied = events[0].model_copy(update={"instrument_key": "NSE_EQ|OTHER"})
    assert copied.instrument_key == "NSE_EQ|OTHER" and events[0].instrument_key != "NSE_EQ|OTHER"
    assert copied.model_fields_set == events[0].model_fields_set


def test_a_trusted_payload_missing_a_field_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"Calibration.trusted takes exactly its fields: missing \['hit_rate'\]"):
        Calibration.trusted({"n": 1, "bias": 0.0, "mae": 0.0, "rmse": 0.0})
