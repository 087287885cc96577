"""A node's ``config`` checked against the JSON Schema its tool publishes.

A tool may declare the shape of its config (``registry.tool(config_schema=...)``,
published by ``GET /api/v1/tools``). :func:`config_problems` checks each node of a
definition against it (with the ``jsonschema`` library) and says, per violation, which
node, which config field, what is wrong and what is allowed::

    node 'wait': config.seconds: -5 is less than the minimum of 0

A key the schema does not name is reported only when the schema says
``"additionalProperties": false``.

Where it applies: to a definition that comes in from a client, i.e. JSON that is not
trusted (``Graph.from_json(data)``) and every graph submitted over HTTP
(``GraphCatalog.compile``: ``POST /api/v1/graph/create`` and ``/graph/validate``,
whatever ``ACTORFLOW_ALLOW_IMPORTS`` says). Not in ``compile()``: that also compiles
the graphs a store holds, whose runs must load and resume whatever schema their tools
publish today, and graphs built in Python (trusted code) find a config their tool
cannot read when the node runs, as before.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .definition import GraphDef
from .registry import ToolInfo, ToolRegistry

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError as SchemaViolation
    from jsonschema.protocols import Validator

__all__ = ["config_path", "config_problems", "json_kind"]

# Validators by id of their schema, the schema kept alongside so the id stays its own.
_VALIDATORS: dict[int, tuple[dict[str, Any], Validator | str]] = {}
_SIMPLE_KEY = re.compile(r"^[\w-]+$")
_JSON_TYPES = {"object": "an object", "array": "an array", "string": "a string",
               "number": "a number", "integer": "an integer", "boolean": "a boolean",
               "null": "null"}


def config_problems(definition: GraphDef, registry: ToolRegistry) -> list[str]:
    """Every violation of a tool's ``config_schema`` by a node's config in
    ``definition`` and in its inline subgraphs' definitions (subgraphs named by graph
    name are stored graphs, not checked again)."""
    problems: list[str] = []
    for n in definition.nodes:
        if n.subgraph is not None:
            inline = n.subgraph.definition
            try:
                child = GraphDef.model_validate(inline) if inline is not None else None
            except ValidationError:
                continue   # reported where the subgraph is read, with its field paths
            if child is not None:
                problems += [f"node {n.name!r}: subgraph {n.subgraph.graph!r}: {p}"
                             for p in config_problems(child, registry)]
            continue
        if n.fn is not None:
            continue   # trusted code by import path: it declares no schema
        name = n.tool or n.name
        if name not in registry:
            continue   # compile() reports the unknown tool, with suggestions
        info = registry.get(name)
        if info.config_schema is not None:
            problems += [f"node {n.name!r}: {p}" for p in _node_problems(info, n.config)]
    return problems


def config_path(path: Any) -> str:
    """``config.a.0`` for the path ``["a", 0]``; a key that is not a plain word is
    quoted as JSON (``config["a b"]``)."""
    out = "config"
    for part in path:
        if isinstance(part, int) or _SIMPLE_KEY.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


def _node_problems(info: ToolInfo, config: dict[str, Any]) -> list[str]:
    validator = _validator(info)
    if isinstance(validator, str):
        return [validator]
    found = [found for error in validator.iter_errors(config) for found in _explain(error, info)]
    # In the order of the fields (array items by index), one line per problem.
    found.sort(key=lambda f: [(0, p, "") if isinstance(p, int) else (1, 0, str(p))
                              for p in f[0]])
    return list(dict.fromkeys(f"{config_path(path)}: {message}" for path, message in found))


def _validator(info: ToolInfo) -> Validator | str:
    """The schema's validator, made once; a problem (text) if the schema is not one."""
    schema = info.config_schema
    assert schema is not None
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    # Imported on first use: a runtime that never checks a submitted graph never loads it.
    from jsonschema import Draft202012Validator, SchemaError, validators

    cls = validators.validator_for(schema, default=Draft202012Validator)
    made: Validator | str
    try:
        cls.check_schema(schema)
        made = cls(schema)
    except SchemaError as exc:
        made = (f"tool {info.name!r} publishes a config_schema that is not a valid JSON "
                f"Schema ({exc.message}), so its config cannot be checked; fix the "
                "tool's registration")
    _VALIDATORS[id(schema)] = (schema, made)
    return made


def _explain(error: SchemaViolation, info: ToolInfo) -> Iterator[tuple[list[Any], str]]:
    """(path in the config, what is wrong and what is allowed) for one error."""
    path = list(error.path)
    instance, schema = error.instance, error.schema
    kind, allowed = error.validator, error.validator_value
    if kind == "type" and isinstance(allowed, (str, list)):
        names = [allowed] if isinstance(allowed, str) else allowed
        what = "is null" if instance is None else f"{_shown(instance)} is {json_kind(instance)}"
        yield path, f"{what}, not {' or '.join(_JSON_TYPES.get(t, t) for t in names)}"
    elif kind == "required" and isinstance(allowed, list) and isinstance(instance, dict) \
            and isinstance(schema, dict):
        properties = schema.get("properties") or {}
        for key in allowed:
            if key not in instance:
                yield [*path, key], f"is required and missing{_described(properties.get(key))}"
    elif kind == "additionalProperties" and allowed is False \
            and isinstance(instance, dict) and isinstance(schema, dict):
        known = list(schema.get("properties") or {})
        patterns = list(schema.get("patternProperties") or {})
        for key in instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            takes = ", ".join(known) if known else "no keys"
            where = f"tool {info.name!r}" if not path else config_path(path)
            yield [*path, key], f"unknown key ({where} takes {takes}){hint}"
    else:
        yield path, error.message


def _described(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    kind = schema.get("type")
    parts = [_JSON_TYPES.get(kind, str(kind))] if isinstance(kind, str) else []
    if isinstance(schema.get("description"), str):
        parts.append(schema["description"])
    return f" ({': '.join(parts)})" if parts else ""


def json_kind(value: Any) -> str:
    """What JSON calls ``value``'s kind, with its article ("an array", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    """The value as JSON, cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
