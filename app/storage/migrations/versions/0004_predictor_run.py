"""predictor_run: the predictor's run while it is on

Revision ID: 0004_predictor_run
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_predictor_run"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictor_run",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("cfg", sa.JSON(), nullable=False),
        sa.Column("started_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictor_run")),
    )


def downgrade() -> None:
    op.drop_table("predictor_run")
