"""Execution: the outbox, the dispatcher, connectors and routing (decisions become work).

Actions are enqueued in the same transaction as the decision that asks for them
(``enqueue``), and leave only after commit, when ``dispatch_due`` sends them through
their connector, exactly once per idempotency key as far as the receiver can tell.
"""

from nextmove.execution.backoff import RetryPolicy, retry_delay
from nextmove.execution.connectors import (
    Connector,
    ConnectorSet,
    build_connectors,
    load_connectors,
)
from nextmove.execution.dispatcher import (
    DEFAULT_LEASE,
    Dispatcher,
    StopCheck,
    dispatch_due,
    kill_switch_check,
)
from nextmove.execution.errors import (
    ConnectorConfigInvalid,
    ExecutionError,
    PermanentSendError,
    RetryableSendError,
    SendError,
)
from nextmove.execution.model import (
    DispatchReport,
    EnqueueResult,
    NewAction,
    OutboxItem,
    OutboxStatus,
    Receipt,
    idempotency_key,
)
from nextmove.execution.outbox import (
    action_for_decision,
    enqueue,
    get_outbox_item,
    list_outbox,
    outbox_counts,
)
from nextmove.execution.ratelimit import RateLimit, RateLimiter
from nextmove.execution.routing import Assignment, RoutingRequest, Teammate, route, route_all

__all__ = [
    "DEFAULT_LEASE",
    "Assignment",
    "Connector",
    "ConnectorConfigInvalid",
    "ConnectorSet",
    "DispatchReport",
    "Dispatcher",
    "EnqueueResult",
    "ExecutionError",
    "NewAction",
    "OutboxItem",
    "OutboxStatus",
    "PermanentSendError",
    "RateLimit",
    "RateLimiter",
    "Receipt",
    "RetryPolicy",
    "RetryableSendError",
    "RoutingRequest",
    "SendError",
    "StopCheck",
    "Teammate",
    "action_for_decision",
    "build_connectors",
    "dispatch_due",
    "enqueue",
    "get_outbox_item",
    "idempotency_key",
    "kill_switch_check",
    "list_outbox",
    "load_connectors",
    "outbox_counts",
    "retry_delay",
    "route",
    "route_all",
]
