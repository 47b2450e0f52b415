"""The relational schema. Alembic revisions in ``migrations/`` must match it exactly."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from nextmove.store.types import UtcDateTime

__all__ = [
    "accounts",
    "contacts",
    "holdings",
    "import_runs",
    "metadata",
    "opportunities",
    "outcomes",
    "owners",
    "product_relations",
    "products",
    "quarantine",
    "signals",
    "teams",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(128)
JSON_LIST = JSON().with_variant(JSONB(), "postgresql")  # JSONB compares by value
TEXT = String(300)

teams = Table(
    "teams",
    metadata,
    Column("team_id", ID, primary_key=True),
    Column("name", TEXT, nullable=False),
    Column("function", String(32), nullable=False),
    Column("capacity_per_day", Integer),
)

# Owners, accounts and their references to owners stay soft (no foreign key): CRM exports
# routinely name people who left; the readiness report flags them instead of refusing rows.
owners = Table(
    "owners",
    metadata,
    Column("owner_id", ID, primary_key=True),
    Column("name", TEXT, nullable=False),
    Column("email", TEXT),
    Column("team_id", ID, ForeignKey("teams.team_id")),
    Column("role", String(32), nullable=False),
    Column("manager_id", ID),
    Column("capacity_per_day", Integer),
    Column("active", Boolean, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("name", TEXT, nullable=False),
    Column("domain", TEXT),
    Column("industry", TEXT),
    Column("segment", String(16)),
    Column("country", TEXT),
    Column("region", TEXT),
    Column("employees", BigInteger),
    Column("annual_revenue", Float),
    Column("owner_id", ID),
    Column("parent_account_id", ID),
    Column("created_on", Date),
)

contacts = Table(
    "contacts",
    metadata,
    Column("contact_id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.account_id"), nullable=False, index=True),
    Column("first_name", TEXT),
    Column("last_name", TEXT),
    Column("email", TEXT),
    Column("title", TEXT),
    Column("country", TEXT),
    Column("email_consent", String(16), nullable=False),
    Column("phone_consent", String(16), nullable=False),
    Column("do_not_contact", Boolean, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("product_id", ID, primary_key=True),
    Column("name", TEXT, nullable=False),
    Column("family", TEXT),
    Column("list_price", Float),
    Column("truth_owner", TEXT),
    Column("last_reviewed", Date),
    Column("active", Boolean, nullable=False),
    # The relations as imported; product_relations is their queryable form.
    Column("prerequisites", JSON_LIST, nullable=False),
    Column("related", JSON_LIST, nullable=False),
)

product_relations = Table(
    "product_relations",
    metadata,
    Column("product_id", ID, ForeignKey("products.product_id"), primary_key=True),
    Column("related_id", ID, ForeignKey("products.product_id"), primary_key=True),
    Column("relation", String(16), primary_key=True),
)

holdings = Table(
    "holdings",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.account_id"), primary_key=True),
    Column("product_id", ID, ForeignKey("products.product_id"), primary_key=True),
    Column("since", Date),
    Column("quantity", BigInteger, nullable=False),
    Column("annual_value", Float),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("opportunity_id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.account_id"), nullable=False, index=True),
    Column("product_id", ID, ForeignKey("products.product_id")),
    Column("stage", String(32), nullable=False),
    Column("amount", Float),
    Column("created_on", Date),
    Column("close_date", Date),
    Column("owner_id", ID),
)

# Signals are the high-volume event log: references are checked at import time rather
# than by foreign keys, which would cost a lookup per row on every insert.
signals = Table(
    "signals",
    metadata,
    Column("event_id", ID, primary_key=True),
    Column("account_id", ID, nullable=False),
    Column("signal_type", String(64), nullable=False),
    Column("product_id", ID),
    Column("contact_id", ID),
    Column("value", Float, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("source", TEXT),
    Column("ref", ID),
    Index(None, "account_id", "occurred_at"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("outcome_id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("outcome_type", String(32), nullable=False),
    Column("product_id", ID, ForeignKey("products.product_id")),
    Column("contact_id", ID),
    Column("opportunity_id", ID),
    Column("value", Float, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("source", TEXT),
    Index(None, "account_id", "occurred_at"),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("file", Text, nullable=False),
    Column("file_format", String(16), nullable=False),
    Column("mapping", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("status", String(16), nullable=False),
    Column("rows_read", BigInteger, nullable=False),
    Column("inserted", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("unchanged", BigInteger, nullable=False),
    Column("duplicates", BigInteger, nullable=False),
    Column("quarantined", BigInteger, nullable=False),
    Column("message", Text),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("import_runs.run_id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("file", Text, nullable=False),
    Column("row_number", BigInteger),
    Column("field", String(128)),
    Column("value", Text),
    Column("reason", Text, nullable=False),
    Column("record", Text),
)
