"""trading: the broker's own charges of an order, beside the cost model's estimate

Revision ID: 0006_broker_charges
Revises: 0003_trading
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_broker_charges"
down_revision = "0003_trading"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hft_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "broker_charges",
                sa.Float(),
                nullable=True,
                comment="the broker's own figure, fetched after the fill; none: not known",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("hft_orders", schema=None) as batch_op:
        batch_op.drop_column("broker_charges")
