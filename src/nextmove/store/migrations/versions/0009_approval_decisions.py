"""Each approval request names the decision it came from, so reading the touches that
reached an account can leave out the moves people rejected or let expire (and count the
pending and approved ones). Requests made before this revision carry the decision's id in
their payload; it is copied over.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_INDEX = "ix_approvals_decision_id"


def upgrade() -> None:
    op.add_column(
        "approvals",
        sa.Column("decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
    )
    op.create_index(op.f(_INDEX), "approvals", ["decision_id"], unique=False)
    _copy_from_payloads()


def _copy_from_payloads() -> None:
    approvals = sa.table(
        "approvals",
        sa.column("approval_id", sa.Integer),
        sa.column("payload", sa.Text),
        sa.column("decision_id", sa.Integer),
    )
    connection = op.get_bind()
    found = []
    for approval_id, payload in connection.execute(
        sa.select(approvals.c.approval_id, approvals.c.payload)
    ):
        decision_id = _decision_of(payload)
        if decision_id is not None:
            found.append({"id": approval_id, "decision": decision_id})
    if found:
        connection.execute(
            approvals.update()
            .where(approvals.c.approval_id == sa.bindparam("id"))
            .values(decision_id=sa.bindparam("decision")),
            found,
        )


def _decision_of(payload: str | None) -> int | None:
    """The decision id an engine-made request carries (None for one a person asked for)."""
    try:
        value = json.loads(payload or "{}").get("decision_id")
    except (json.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def downgrade() -> None:
    op.drop_index(op.f(_INDEX), table_name="approvals")
    op.drop_column("approvals", "decision_id")
