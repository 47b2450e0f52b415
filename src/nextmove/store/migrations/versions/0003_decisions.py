"""Decisions, their runs and models; autonomy demotions; the CRM owner a user works as.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from nextmove.store.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("owner_id", sa.String(length=128), nullable=True))
    op.create_table(
        "autonomy_demotions",
        sa.Column("demotion_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("demoted_by", sa.String(length=128), nullable=False),
        sa.Column("demoted_at", UtcDateTime(), nullable=False),
        sa.Column("restored_by", sa.String(length=128), nullable=True),
        sa.Column("restored_at", UtcDateTime(), nullable=True),
        sa.Column("exception_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("demotion_id", name=op.f("pk_autonomy_demotions")),
    )
    op.create_index(
        op.f("ix_autonomy_demotions_action"), "autonomy_demotions", ["action"], unique=False
    )
    op.create_table(
        "decision_runs",
        sa.Column("run_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("playbook_version", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_decision_runs")),
    )
    op.create_table(
        "decisions",
        sa.Column(
            "decision_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=True),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("expected_value", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("uplift", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("propensity", sa.Float(), nullable=False),
        sa.Column("explored", sa.Boolean(), nullable=False),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("autonomy", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("playbook_version", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["decision_runs.run_id"],
            name=op.f("fk_decisions_run_id_decision_runs"),
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_account_id"), "decisions", ["account_id"], unique=False)
    op.create_index(op.f("ix_decisions_run_id"), "decisions", ["run_id"], unique=False)
    op.create_table(
        "decision_logs",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["decision_runs.run_id"],
            name=op.f("fk_decision_logs_run_id_decision_runs"),
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_decision_logs")),
    )
    op.create_table(
        "models",
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("trained_at", UtcDateTime(), nullable=False),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("model_version", name=op.f("pk_models")),
    )


def downgrade() -> None:
    op.drop_table("models")
    op.drop_table("decision_logs")
    op.drop_index(op.f("ix_decisions_run_id"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_account_id"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("decision_runs")
    op.drop_index(op.f("ix_autonomy_demotions_action"), table_name="autonomy_demotions")
    op.drop_table("autonomy_demotions")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("owner_id")
