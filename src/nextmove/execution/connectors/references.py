"""``env:NAME`` references in the connectors file, resolved against a given environment.

Only ``nextmove.config`` reads the process environment; whoever builds the connectors
passes the mapping in (the composition root passes the environment it was started with).
"""

from __future__ import annotations

from collections.abc import Mapping

from nextmove.execution.errors import ConnectorConfigInvalid

__all__ = ["ENV_PREFIX", "resolve_reference"]

ENV_PREFIX = "env:"


def resolve_reference(value: str, *, environ: Mapping[str, str], field: str) -> str:
    """Return ``value``, or the variable it names when written ``env:NAME``.

    ConnectorConfigInvalid (naming ``field``) when the variable is unset or empty.
    """
    if not value.startswith(ENV_PREFIX):
        return value
    variable = value.removeprefix(ENV_PREFIX).strip()
    if not variable:
        problem = f"{field}: 'env:' must be followed by the name of an environment variable"
        raise ConnectorConfigInvalid(problem, (problem,))
    found = environ.get(variable)
    if not found:
        problem = f"{field}: environment variable {variable} is not set"
        raise ConnectorConfigInvalid(problem, (problem,))
    return found
