"""jobs, models, promotions, schedules

Revision ID: 0003_jobs
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_jobs"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False, comment="training or automation: the channel"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column(
            "status", sa.String(length=10), nullable=False, comment="queued, running, succeeded, failed, cancelled"
        ),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("started_ts", sa.Float(), nullable=True),
        sa.Column("finished_ts", sa.Float(), nullable=True),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_family_created", ["family", "created_ts"], unique=False)
        batch_op.create_index("ix_jobs_status", ["status"], unique=False)

    op.create_table(
        "models",
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("instrument_key", sa.String(length=64), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("horizons", sa.JSON(), nullable=False),
        sa.Column("trained_from", sa.BigInteger(), nullable=False, comment="first bar open used, UTC epoch s"),
        sa.Column("trained_to", sa.BigInteger(), nullable=False, comment="last bar open used, UTC epoch s"),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("feature_spec", sa.String(length=32), nullable=False, comment="hash of the feature definition"),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("promoted_ts", sa.Float(), nullable=True, comment="when it was promoted, if ever"),
        sa.Column("decision", sa.Text(), nullable=True, comment="why it was or was not promoted"),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_models")),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index(
            "ix_models_instrument_interval", ["instrument_key", "interval", "created_ts"], unique=False
        )

    op.create_table(
        "promotions",
        sa.Column("instrument_key", sa.String(length=64), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("model_id", sa.String(length=32), nullable=False),
        sa.Column("promoted_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("instrument_key", "interval", name=op.f("pk_promotions")),
    )

    op.create_table(
        "schedules",
        sa.Column("schedule_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False, comment="5-field cron expression in `timezone`"),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_ts", sa.Float(), nullable=True, comment="the next slot, UTC epoch s"),
        sa.Column("last_slot_ts", sa.Float(), nullable=True, comment="the last slot that ran"),
        sa.Column("last_job_id", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", name=op.f("pk_schedules")),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("promotions")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index("ix_models_instrument_interval")
    op.drop_table("models")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status")
        batch_op.drop_index("ix_jobs_family_created")
    op.drop_table("jobs")
