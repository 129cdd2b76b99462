"""predictions: indexed by (ts_pred, instrument_key) instead of (instrument_key, ts_pred)

A predictor cycle inserts one row per instrument and horizon, all with the same ts_pred. An
index led by the instrument puts each of them on another leaf page (500 instruments: ~500 pages
rewritten, ~2 MB of write-ahead log, every minute: half of a cycle's insert); led by the time,
they land together at the index's end. Range reads by time (the REST's start/end, the
evaluation's window, retention's cutoff) use it; one instrument's newest predictions are read
newest first by id until enough are found.

Revision ID: 0007_predictions_by_time
Revises: 0004_predictor_run
"""

from __future__ import annotations

from alembic import op

revision = "0007_predictions_by_time"
down_revision = "0004_predictor_run"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_predictions_instrument_ts_pred")
        batch_op.create_index("ix_predictions_ts_pred_instrument", ["ts_pred", "instrument_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_predictions_ts_pred_instrument")
        batch_op.create_index("ix_predictions_instrument_ts_pred", ["instrument_key", "ts_pred"], unique=False)
