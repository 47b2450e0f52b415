"""Indexes for what every decision counts, read from an index alone: the capacity earlier
decisions used this week (without reading the decisions of other weeks), and the work each
person was routed today (without reading the outbox of other days).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_decisions_as_of_action_owner_id_autonomy"),
        "decisions",
        ["as_of", "action", "owner_id", "autonomy"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outbox_created_at_assignee"), "outbox", ["created_at", "assignee"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_created_at_assignee"), table_name="outbox")
    op.drop_index(op.f("ix_decisions_as_of_action_owner_id_autonomy"), table_name="decisions")
