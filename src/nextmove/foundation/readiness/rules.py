"""The readiness rules: the built-in ``readiness.yaml`` beside this module, or a user's own."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from nextmove.errors import ConfigurationError, NotFound
from nextmove.foundation.readiness.model import ReadinessRules

__all__ = ["RULES_FILE", "default_rules", "load_rules"]

RULES_FILE = Path(__file__).with_name("readiness.yaml")
"""The built-in rules: decision types, known vocabularies and thresholds."""


def load_rules(path: str | Path | None = None) -> ReadinessRules:
    """Return the readiness rules in ``path`` (default: the built-in ``readiness.yaml``)."""
    return default_rules() if path is None else _read_rules(Path(path))


@cache
def default_rules() -> ReadinessRules:
    """Return the built-in readiness rules (read once)."""
    return _read_rules(RULES_FILE)


def _read_rules(path: Path) -> ReadinessRules:
    if not path.is_file():
        raise NotFound(f"readiness rules file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"readiness rules {path} are not valid YAML: {exc}") from exc
    try:
        return ReadinessRules.model_validate(content or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigurationError(f"readiness rules {path} are invalid: {problems}") from exc
