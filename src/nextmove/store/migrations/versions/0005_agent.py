"""The agent loop's state (schedule, heartbeat, signal watermark, last errors), and an
index that finds new signals of a type quickly.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from nextmove.store.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("last_cycle_at", UtcDateTime(), nullable=True),
        sa.Column("last_batch_at", UtcDateTime(), nullable=True),
        sa.Column("last_learn_at", UtcDateTime(), nullable=True),
        sa.Column("signal_watermark", UtcDateTime(), nullable=True),
        sa.Column("last_report", sa.Text(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_agent_state")),
    )
    op.create_index(
        op.f("ix_signals_signal_type_occurred_at"),
        "signals",
        ["signal_type", "occurred_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_signals_signal_type_occurred_at"), table_name="signals")
    op.drop_table("agent_state")
