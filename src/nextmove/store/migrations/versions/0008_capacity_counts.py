"""The capacity earlier decisions used, counted per day as they are stored: per action (all
owners) and per action and owner. A decision then reads a week's use from at most seven
rows per action, and its accounts' owners' rows, however many decisions the week made;
counting the decisions themselves grew with every batch run of the week. The index that
counting read (revision 0007) serves nothing else, and goes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa
from alembic import op

from nextmove.store.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COUNTING_INDEX = "ix_decisions_as_of_action_owner_id_autonomy"
_USING_CAPACITY = ("auto", "approve", "recommend")
"""The levels whose decisions ask people for work (as when they were counted before)."""


def upgrade() -> None:
    by_action = op.create_table(
        "capacity_by_action",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "action", name=op.f("pk_capacity_by_action")),
    )
    by_owner = op.create_table(
        "capacity_by_owner",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "action", "owner_id", name=op.f("pk_capacity_by_owner")),
    )
    op.create_index(
        op.f("ix_capacity_by_owner_owner_id_day"), "capacity_by_owner", ["owner_id", "day"]
    )
    _count_stored_decisions(by_action, by_owner)
    op.drop_index(op.f(_COUNTING_INDEX), table_name="decisions")


def _count_stored_decisions(by_action: sa.Table, by_owner: sa.Table) -> None:
    """Count the decisions stored before this revision, as storing counts new ones."""
    decisions = sa.table(
        "decisions",
        sa.column("as_of", UtcDateTime()),
        sa.column("action", sa.String),
        sa.column("owner_id", sa.String),
        sa.column("autonomy", sa.String),
    )
    query = (
        sa.select(decisions.c.as_of, decisions.c.action, decisions.c.owner_id, sa.func.count())
        .where(decisions.c.action != "no_action", decisions.c.autonomy.in_(_USING_CAPACITY))
        .group_by(decisions.c.as_of, decisions.c.action, decisions.c.owner_id)
    )
    per_action: Counter[tuple[date, str]] = Counter()
    per_owner: Counter[tuple[date, str, str]] = Counter()
    for as_of, action, owner_id, n in op.get_bind().execute(query):
        per_action[as_of.date(), action] += n
        if owner_id is not None:
            per_owner[as_of.date(), action, owner_id] += n
    if per_action:
        op.bulk_insert(
            by_action,
            [{"day": d, "action": a, "decisions": n} for (d, a), n in per_action.items()],
        )
    if per_owner:
        op.bulk_insert(
            by_owner,
            [
                {"day": d, "action": a, "owner_id": o, "decisions": n}
                for (d, a, o), n in per_owner.items()
            ],
        )


def downgrade() -> None:
    op.create_index(op.f(_COUNTING_INDEX), "decisions", ["as_of", "action", "owner_id", "autonomy"])
    op.drop_index(op.f("ix_capacity_by_owner_owner_id_day"), table_name="capacity_by_owner")
    op.drop_table("capacity_by_owner")
    op.drop_table("capacity_by_action")
