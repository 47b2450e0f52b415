"""YAML text → validated model, with every error located by line, column and path."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from nextmove.errors import PlaybookInvalid
from nextmove.playbook.model import Playbook, Problem
from nextmove.playbook.source import NodePosition, Path, SourceMap, format_path

__all__ = ["LoadedPlaybook", "load_document", "load_playbook", "problems_error"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class LoadedPlaybook:
    """A playbook that passed its structural checks, with where each value was written."""

    playbook: Playbook
    source: SourceMap
    text: str


def load_playbook(text: str) -> LoadedPlaybook:
    """Return the playbook written in ``text``; raise PlaybookInvalid listing every problem."""
    playbook, source = load_document(text, Playbook)
    return LoadedPlaybook(playbook, source, text)


def problems_error(what: str, problems: list[Problem]) -> PlaybookInvalid:
    """Return the PlaybookInvalid to raise for ``problems`` (which must not be empty)."""
    errors = [p for p in problems if p.severity == "error"]
    first = errors[0].render(what) if errors else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return PlaybookInvalid(f"{what} is invalid: {first}{more}", tuple(problems))


def load_document(text: str, model: type[M], *, what: str = "the playbook") -> tuple[M, SourceMap]:
    """Return ``text`` validated as ``model`` and its source map.

    Raises PlaybookInvalid whose problems cover YAML syntax, duplicate keys, unknown keys,
    missing keys and invalid values, each with its position.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = f"YAML syntax: {exc.problem or exc}"
        problem = Problem(path="", line=line, column=column, message=message)
        raise problems_error(what, [problem]) from None
    except yaml.YAMLError as exc:
        raise problems_error(what, [Problem(path="", message=f"YAML: {exc}")]) from None
    nodes: dict[Path, NodePosition] = {}
    problems: list[Problem] = []
    if root is not None:
        _walk(root, (), root.start_mark, nodes, problems)
    source = SourceMap(nodes, tuple(text.splitlines()))
    if data is None:
        problems.append(Problem(path="", line=1, column=1, message="the file is empty"))
    else:
        try:
            result = model.model_validate(data)
        except ValidationError as exc:
            problems += _validation_problems(exc, source, model)
        else:
            if not problems:
                return result, source
    raise problems_error(what, problems)


def _walk(
    node: yaml.Node,
    path: Path,
    key_mark: yaml.Mark,
    nodes: dict[Path, NodePosition],
    problems: list[Problem],
) -> None:
    """Record the position of ``node`` and its children; report duplicate keys."""
    start, end = node.start_mark, node.end_mark
    style = getattr(node, "style", None) if isinstance(node, yaml.ScalarNode) else None
    nodes[path] = NodePosition(
        start.line + 1,
        start.column + 1,
        key_mark.line + 1,
        key_mark.column + 1,
        style,
        start.line == end.line,
    )
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if path + (name,) in nodes:
                problems.append(
                    Problem(
                        path=format_path(path + (name,)),
                        line=key.start_mark.line + 1,
                        column=key.start_mark.column + 1,
                        message=f"duplicate key {name!r} (only one may be given)",
                    )
                )
                continue
            _walk(value, path + (name,), key.start_mark, nodes, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), item.start_mark, nodes, problems)


def _validation_problems(
    exc: ValidationError, source: SourceMap, model: type[BaseModel]
) -> list[Problem]:
    """Turn pydantic's errors into located problems, dropping union-branch noise."""
    located = [_locate(error, source) for error in exc.errors(include_url=False)]
    branches: dict[Path, set[str]] = {}
    for _, visible, branch, _ in located:
        if branch is not None:
            branches.setdefault(visible[: branch[0]], set()).add(branch[1])
    problems = []
    for error, visible, branch, exists in located:
        if branch is not None and error["type"] == "literal_error":
            if len(branches[visible[: branch[0]]]) > 1:
                continue  # the other branch of "all | [ids]" explains the problem better
        if error["type"] == "too_short" and any(
            len(other) > len(visible) and other[: len(visible)] == visible
            for _, other, _, _ in located
        ):
            continue  # pydantic counts the invalid items as missing: their errors say more
        message = _message(error, visible, source, model)
        line, column = source.locate(visible, key=error["type"] == "extra_forbidden")
        if not exists and error["type"] != "missing":
            line, column = source.locate(visible)
        problem = Problem(path=format_path(visible), line=line, column=column, message=message)
        if problem not in problems:
            problems.append(problem)
    return problems


def _locate(
    error: ErrorDetails, source: SourceMap
) -> tuple[ErrorDetails, Path, tuple[int, str] | None, bool]:
    """Return (error, path as written, (depth, union branch) if any, whether it exists)."""
    visible: list[str | int] = []
    branch: tuple[int, str] | None = None
    for part in error["loc"]:
        candidate = (*visible, part)
        if candidate in source or isinstance(part, int) or not _is_branch_tag(part):
            visible.append(part)
        elif branch is None:
            branch = (len(visible), part)
    path = tuple(visible)
    return error, path, branch, path in source


def _is_branch_tag(part: str) -> bool:
    """True for pydantic's names of union members (``literal['all']``, ``tuple[str, ...]``)."""
    return any(c in part for c in "[]'( ") or part in ("str", "int", "float", "bool", "none")


def _message(error: ErrorDetails, path: Path, source: SourceMap, model: type[BaseModel]) -> str:
    kind, text = error["type"], error["msg"]
    if kind == "extra_forbidden":
        name = str(path[-1])
        allowed = _allowed_keys(model, path[:-1])
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = f"; expected one of: {', '.join(allowed)}" if allowed and not close else ""
        return f"unknown key {name!r}{hint}{known}"
    if kind == "missing":
        return f"missing required key {path[-1]!r}"
    text = text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    text = text[:1].lower() + text[1:]
    node = source.nodes.get(path)
    if kind == "string_type" and node is not None and node.style is None:
        text += " (put the value in quotes: YAML reads unquoted yes/no/on/off and numbers)"
    return text


def _allowed_keys(model: type[BaseModel], path: Path) -> list[str]:
    """Return the keys the model expects at ``path`` (empty when it takes any key)."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (dict, tuple, list):
            args = get_args(current)
            current = args[-1] if get_origin(current) is dict else args[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and optional/``all``-or-list unions down to the structured type."""
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            structured = [a for a in get_args(annotation) if get_origin(a) is not typing.Literal]
            structured = [a for a in structured if a is not type(None)]
            if len(structured) != 1:
                return annotation
            annotation = structured[0]
        else:
            return annotation
