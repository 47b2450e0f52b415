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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from nextmove.store.types import UtcDateTime

__all__ = [
    "accounts",
    "agent_state",
    "autonomy_demotions",
    "capacity_by_action",
    "capacity_by_owner",
    "decision_logs",
    "decision_runs",
    "decisions",
    "models",
    "approvals",
    "audit_log",
    "exceptions",
    "kill_switches",
    "playbook_versions",
    "users",
    "contacts",
    "holdings",
    "import_runs",
    "metadata",
    "opportunities",
    "outbox",
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
    # The agent loop looks for new urgent signals of a few types every second or so.
    Index(None, "signal_type", "occurred_at"),
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

# --- playbook and governance -------------------------------------------------------

playbook_versions = Table(
    "playbook_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("content", Text, nullable=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("author", ID, nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("rollback_of", Integer),
)

users = Table(
    "users",
    metadata,
    Column("user_id", ID, primary_key=True),
    Column("name", TEXT, nullable=False),
    Column("role", String(32), nullable=False),
    Column("token_hash", String(256), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ID),
    # The CRM owner a rep user works as: their approvals queue shows that owner's accounts.
    Column("owner_id", ID),
)

# Append-only; each entry's hash covers its content and the previous entry's hash.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor", ID, nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("playbook_version", Integer),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

kill_switches = Table(
    "kill_switches",
    metadata,
    Column("scope", String(16), primary_key=True),
    Column("target", ID, primary_key=True),
    Column("engaged", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", ID, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("approval_id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", ID, nullable=False, index=True),
    Column("action", String(64), nullable=False),
    Column("product_id", ID),
    Column("payload", Text, nullable=False),
    Column("value", Float),
    Column("requested_by", ID, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("required_approvers", Integer, nullable=False),
    Column("approvers", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("decided_by", ID),
    Column("decided_at", UtcDateTime),
    Column("reason", Text),
    Column("playbook_version", Integer),
    # The decision the engine asked approval for (None: a person's request).
    Column("decision_id", BigInteger().with_variant(Integer, "sqlite"), index=True),
)

exceptions = Table(
    "exceptions",
    metadata,
    Column("exception_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("account_id", ID),
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("owner", ID, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", ID),
    Column("resolution", Text),
)

# One row per demotion; restored_at is null while it holds. At most one open per action.
autonomy_demotions = Table(
    "autonomy_demotions",
    metadata,
    Column("demotion_id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(64), nullable=False, index=True),
    Column("trigger", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("demoted_by", ID, nullable=False),
    Column("demoted_at", UtcDateTime, nullable=False),
    Column("restored_by", ID),
    Column("restored_at", UtcDateTime),
    Column("exception_id", Integer),
)

decision_runs = Table(
    "decision_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("mode", String(16), nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("status", String(16), nullable=False),
    Column("playbook_version", Integer),
    Column("model_version", String(64), nullable=False),
    Column("accounts", Integer, nullable=False),
    Column("actions", Integer, nullable=False),
    Column("summary", Text, nullable=False),
)

# The decisions that ask for something (no_action aside), one row each, for the queues,
# execution and audit. Every decision of a run, no_action included, is in its log below.
decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("run_id", Integer, ForeignKey("decision_runs.run_id"), nullable=False, index=True),
    Column("account_id", ID, nullable=False, index=True),
    Column("action", String(64), nullable=False),
    Column("product_id", ID),
    Column("as_of", UtcDateTime, nullable=False),
    Column("expected_value", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("uplift", Float, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("propensity", Float, nullable=False),
    Column("explored", Boolean, nullable=False),
    Column("holdout", Boolean, nullable=False),
    Column("autonomy", String(16), nullable=False),
    Column("owner_id", ID),
    Column("reasons", Text, nullable=False),
    Column("playbook_version", Integer),
    Column("model_version", String(64), nullable=False),
)

# The capacity stored decisions used (those that ask people for work), counted per day as
# they are stored: per action for all owners, and per action and owner. A decision reads
# the week's use from these few rows, not from the week's decisions.
capacity_by_action = Table(
    "capacity_by_action",
    metadata,
    Column("day", Date, primary_key=True),
    Column("action", String(64), primary_key=True),
    Column("decisions", Integer, nullable=False),
)

capacity_by_owner = Table(
    "capacity_by_owner",
    metadata,
    Column("day", Date, primary_key=True),
    Column("action", String(64), primary_key=True),
    Column("owner_id", ID, primary_key=True),
    Column("decisions", Integer, nullable=False),
    Index(None, "owner_id", "day"),
)

# Every decision of a run as one compressed Parquet file: a million decisions land in
# well under a second, and learning and measurement read them back column-wise.
decision_logs = Table(
    "decision_logs",
    metadata,
    Column("run_id", Integer, ForeignKey("decision_runs.run_id"), primary_key=True),
    Column("rows", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

# The model registry: fitted response models as plain numbers (JSON), so any later run can
# use them. ``active`` marks the champion (``status`` says so too); data_from … as_of is
# the range of decisions learned from; ``evaluation`` holds the evidence of its gate.
models = Table(
    "models",
    metadata,
    Column("model_version", String(64), primary_key=True),
    Column("trained_at", UtcDateTime, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("params", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("status", String(16), nullable=False, server_default="retired"),
    Column("data_from", UtcDateTime),
    Column("status_at", UtcDateTime),
    Column("evaluation", Text, nullable=False, server_default="{}"),
)

# --- execution ------------------------------------------------------------------------

# Actions waiting to leave, written in the same transaction as the decision that asks for
# them; a dispatcher sends them after commit. The payload is fixed at enqueue time so
# every re-send carries the same bytes under the same idempotency key.
outbox = Table(
    "outbox",
    metadata,
    Column("outbox_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "decision_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("decisions.decision_id"),
        index=True,
    ),
    Column("run_id", Integer),
    Column("account_id", ID, nullable=False),
    Column("action", String(64), nullable=False),
    Column("product_id", ID),
    Column("connector", String(64), nullable=False),
    Column("assignee", ID),
    Column("routing_reason", Text),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", Text),
    Column("receipt", Text),
    Column("exception_id", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Index(None, "status", "next_attempt_at"),
    # Acting on decisions counts the work each person got today: by time, then assignee.
    Index(None, "created_at", "assignee"),
)

# --- the agent loop ---------------------------------------------------------------------

# One row per running loop (by name): where it stands, so a restart resumes its schedule
# and `nextmove status` can say how it is doing from another process.
agent_state = Table(
    "agent_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("cycles", Integer, nullable=False),
    Column("last_cycle_at", UtcDateTime),
    Column("last_batch_at", UtcDateTime),
    Column("last_learn_at", UtcDateTime),
    Column("signal_watermark", UtcDateTime),
    Column("last_report", Text, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
)
