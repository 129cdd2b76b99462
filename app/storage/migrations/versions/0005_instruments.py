"""instruments: Upstox's instrument master

Revision ID: 0005_instruments
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_instruments"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("instrument_key", sa.String(length=64), nullable=False),
        sa.Column("trading_symbol", sa.String(length=128), nullable=False),
        sa.Column("symbol_upper", sa.String(length=128), nullable=False, comment="upper(trading_symbol), for lookups"),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("exchange", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=24), nullable=False),
        sa.Column("instrument_type", sa.String(length=24), nullable=False),
        sa.Column("isin", sa.String(length=16), nullable=True),
        sa.Column("exchange_token", sa.String(length=32), nullable=True),
        sa.Column("tick_size", sa.Float(), nullable=True, comment="rupees (the file's paise / 100)"),
        sa.Column("lot_size", sa.Integer(), nullable=True),
        sa.Column("freeze_quantity", sa.Float(), nullable=True),
        sa.Column("short_name", sa.String(length=256), nullable=True),
        sa.Column("security_type", sa.String(length=32), nullable=True),
        sa.Column("expiry", sa.BigInteger(), nullable=True, comment="UTC epoch seconds"),
        sa.Column("strike_price", sa.Float(), nullable=True),
        sa.Column("underlying_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("instrument_key", name=op.f("pk_instruments")),
    )
    with op.batch_alter_table("instruments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instruments_symbol_upper"), ["symbol_upper"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instruments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instruments_symbol_upper"))
    op.drop_table("instruments")
