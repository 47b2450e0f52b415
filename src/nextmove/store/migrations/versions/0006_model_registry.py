"""The model registry: every fitted model's status (champion, challenger, candidate,
rejected, retired), the range of data it learned from, and the evidence of its gate.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from nextmove.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="retired")
        )
        batch.add_column(sa.Column("data_from", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("status_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("evaluation", sa.Text(), nullable=False, server_default="{}"))
    models = sa.table("models", sa.column("active", sa.Boolean), sa.column("status", sa.String))
    op.execute(models.update().where(models.c.active.is_(True)).values(status="champion"))


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_column("evaluation")
        batch.drop_column("status_at")
        batch.drop_column("data_from")
        batch.drop_column("status")
