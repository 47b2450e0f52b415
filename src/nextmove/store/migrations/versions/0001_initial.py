"""Initial schema: records, import runs and quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from nextmove.store.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=300), nullable=True),
        sa.Column("industry", sa.String(length=300), nullable=True),
        sa.Column("segment", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=300), nullable=True),
        sa.Column("region", sa.String(length=300), nullable=True),
        sa.Column("employees", sa.BigInteger(), nullable=True),
        sa.Column("annual_revenue", sa.Float(), nullable=True),
        sa.Column("owner_id", sa.String(length=128), nullable=True),
        sa.Column("parent_account_id", sa.String(length=128), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "import_runs",
        sa.Column("run_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("inserted", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("unchanged", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_import_runs")),
    )
    op.create_table(
        "products",
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("family", sa.String(length=300), nullable=True),
        sa.Column("list_price", sa.Float(), nullable=True),
        sa.Column("truth_owner", sa.String(length=300), nullable=True),
        sa.Column("last_reviewed", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("prerequisites", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("related", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_products")),
    )
    op.create_table(
        "signals",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("signal_type", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=True),
        sa.Column("contact_id", sa.String(length=128), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("ref", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_signals")),
    )
    op.create_index(
        op.f("ix_signals_account_id_occurred_at"),
        "signals",
        ["account_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "teams",
        sa.Column("team_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("function", sa.String(length=32), nullable=False),
        sa.Column("capacity_per_day", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_teams")),
    )
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("first_name", sa.String(length=300), nullable=True),
        sa.Column("last_name", sa.String(length=300), nullable=True),
        sa.Column("email", sa.String(length=300), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("country", sa.String(length=300), nullable=True),
        sa.Column("email_consent", sa.String(length=16), nullable=False),
        sa.Column("phone_consent", sa.String(length=16), nullable=False),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_contacts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contacts")),
    )
    op.create_index(op.f("ix_contacts_account_id"), "contacts", ["account_id"], unique=False)
    op.create_table(
        "holdings",
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("annual_value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_holdings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.product_id"], name=op.f("fk_holdings_product_id_products")
        ),
        sa.PrimaryKeyConstraint("account_id", "product_id", name=op.f("pk_holdings")),
    )
    op.create_table(
        "opportunities",
        sa.Column("opportunity_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("owner_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_opportunities_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.product_id"],
            name=op.f("fk_opportunities_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("opportunity_id", name=op.f("pk_opportunities")),
    )
    op.create_index(
        op.f("ix_opportunities_account_id"), "opportunities", ["account_id"], unique=False
    )
    op.create_table(
        "outcomes",
        sa.Column("outcome_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("outcome_type", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=128), nullable=True),
        sa.Column("contact_id", sa.String(length=128), nullable=True),
        sa.Column("opportunity_id", sa.String(length=128), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_outcomes_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.product_id"], name=op.f("fk_outcomes_product_id_products")
        ),
        sa.PrimaryKeyConstraint("outcome_id", name=op.f("pk_outcomes")),
    )
    op.create_index(
        op.f("ix_outcomes_account_id_occurred_at"),
        "outcomes",
        ["account_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "owners",
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("email", sa.String(length=300), nullable=True),
        sa.Column("team_id", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("manager_id", sa.String(length=128), nullable=True),
        sa.Column("capacity_per_day", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.team_id"], name=op.f("fk_owners_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_owners")),
    )
    op.create_table(
        "product_relations",
        sa.Column("product_id", sa.String(length=128), nullable=False),
        sa.Column("related_id", sa.String(length=128), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.product_id"],
            name=op.f("fk_product_relations_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["related_id"],
            ["products.product_id"],
            name=op.f("fk_product_relations_related_id_products"),
        ),
        sa.PrimaryKeyConstraint(
            "product_id", "related_id", "relation", name=op.f("pk_product_relations")
        ),
    )
    op.create_table(
        "quarantine",
        sa.Column("entry_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("row_number", sa.BigInteger(), nullable=True),
        sa.Column("field", sa.String(length=128), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_runs.run_id"], name=op.f("fk_quarantine_run_id_import_runs")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_run_id"), "quarantine", ["run_id"], unique=False)


def downgrade() -> None:

    op.drop_index(op.f("ix_quarantine_run_id"), table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_table("product_relations")
    op.drop_table("owners")
    op.drop_index(op.f("ix_outcomes_account_id_occurred_at"), table_name="outcomes")
    op.drop_table("outcomes")
    op.drop_index(op.f("ix_opportunities_account_id"), table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_table("holdings")
    op.drop_index(op.f("ix_contacts_account_id"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_table("teams")
    op.drop_index(op.f("ix_signals_account_id_occurred_at"), table_name="signals")
    op.drop_table("signals")
    op.drop_table("products")
    op.drop_table("import_runs")
    op.drop_table("accounts")
