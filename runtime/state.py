"""The shared state of a run, and how node updates merge into it.

A node receives a :class:`WorkflowState` and returns an update: a ``dict`` of
``data`` keys (the common case), a whole ``WorkflowState`` (its differences from
the input are the update), or ``None``. Updates merge key by key through
reducers; without a reducer a key is replaced.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from . import portable
from .errors import GraphError, InputValidationError, StateError, StateValidationError
from .routing import Command

__all__ = ["REDUCERS", "Reducer", "StateUpdate", "WorkflowState", "check_json", "every_field_set",
           "resolve_reducer", "trusted", "validate_input"]

M = TypeVar("M", bound=BaseModel)


#: Per model class, the names of all its fields (see :func:`trusted`).
_EVERY_FIELD: dict[type[BaseModel], set[str]] = {}


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """Build a model from values the runtime produced itself, without validation.

    What ``model_construct`` does, minus its per-field default handling: every field
    must be given. On the hot path (one state view and one checkpoint per step)
    ``model_construct`` alone cost more than the node call it surrounds.
    """
    m = cls.__new__(cls)
    object.__setattr__(m, "__dict__", values)
    # Every field is set: one set of all of them per class, shared (a set per model was
    # one object and ~200 bytes more per step, for the collector to walk while the model
    # lives). Pydantic only ever adds a field's name to it (assignment), which changes
    # nothing here, and copies it with the model.
    every = _EVERY_FIELD.get(cls)
    if every is None:
        every = _EVERY_FIELD[cls] = set(cls.model_fields)
    object.__setattr__(m, "__pydantic_fields_set__",
                       every if len(values) == len(every) else set(values))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


def every_field_set(model: BaseModel) -> None:
    """Count every field of ``model`` as set, with the one set of them its class shares
    (see :func:`trusted`), instead of the model's own.

    For a run's state, which the supervisor keeps for the whole run (and a finished run
    kept in memory keeps): pydantic gives each validated model a set of the fields it
    was given, and a set of five names or more is ~730 bytes (its table outgrows the
    set). Every field of such a model has a value (given or default), and nothing here
    reads the difference between given and defaulted (``exclude_unset``).
    """
    cls = type(model)
    every = _EVERY_FIELD.get(cls)
    if every is None:
        every = _EVERY_FIELD[cls] = set(cls.model_fields)
    object.__setattr__(model, "__pydantic_fields_set__", every)

Reducer = Callable[[Any, Any], Any]


class WorkflowState(BaseModel):
    """The state that flows through a run (the seed's fields).

    Treat it as read-only inside a node: return the keys you change instead.
    """

    workflow_id: str
    run_id: str
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    iteration: int = 0
    data: dict[str, Any] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)

    # LangGraph's state is a dict: ``state["key"]`` and ``state.get("key")`` read ``data``.
    def __getitem__(self, key: str) -> Any:
        try:
            return self.data[key]
        except KeyError:
            raise KeyError(f"{key!r} is not in the state's data (keys: "
                           f"{', '.join(map(repr, self.data)) or 'none'})") from None

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.data


#: The data of an update from a node that returned None (see StateUpdate.from_result).
_NOTHING: dict[str, Any] = {}


class StateUpdate:
    """A normalised node update: new ``data`` values plus appended errors/warnings."""

    __slots__ = ("data", "errors", "goto", "warnings")

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        errors: Sequence[str] | None = None,
        warnings: Sequence[str] | None = None,
    ) -> None:
        self.data = data if data is not None else {}
        # No errors or warnings (nearly every update): the shared empty tuple, not two
        # empty lists per node execution. Lists are objects the collector tracks, and a
        # 10,000-branch fan-out holds 10,000 updates at once (issue 10 item 5). Nothing
        # writes into an update's errors or warnings: they are read and copied.
        self.errors: Sequence[str] = errors or ()
        self.warnings: Sequence[str] = warnings or ()
        self.goto: Any = None      # a Command's goto: where to go instead of the edges

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StateUpdate):
            return NotImplemented
        return (self.data, list(self.errors), list(self.warnings)) == (
            other.data, list(other.errors), list(other.warnings))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"StateUpdate({self.data!r}, {self.errors!r}, {self.warnings!r})"

    @classmethod
    def from_result(cls, result: object, before: WorkflowState, node: str) -> StateUpdate:
        """Turn what a node returned into an update, or say clearly what is wrong."""
        if result is None:
            # The data of every node that returned nothing: one shared empty dict (never
            # written: merges read an update, and its node_completed event, kept with
            # the run's history, holds it), not a dict per node execution.
            return cls(_NOTHING)
        if type(result) is dict:
            # The common case, before the isinstance checks (Mapping's goes through abc).
            for k in result:
                if not isinstance(k, str):
                    break
            else:
                return cls(dict(result))
        if isinstance(result, Command):
            update = cls.from_result(result.update, before, node)
            update.goto = result.goto
            return update
        if isinstance(result, Mapping):
            bad = [k for k in result if not isinstance(k, str)]
            if bad:
                raise StateError(f"node {node!r} returned non-string data keys {bad!r}", node=node)
            return cls(dict(result))
        if isinstance(result, WorkflowState):
            # A whole state: its differences from the input are the update. Identity
            # first, so an unchanged large value costs nothing to compare.
            changed = {
                k: v
                for k, v in result.data.items()
                if k not in before.data or (before.data[k] is not v and before.data[k] != v)
            }
            return cls(
                changed,
                list(result.errors[len(before.errors) :]),
                list(result.warnings[len(before.warnings) :]),
            )
        raise StateError(
            f"node {node!r} returned {type(result).__name__}; return a dict of data keys to "
            "update, a WorkflowState, a Command, or None",
            node=node,
        )


def _append(old: Any, new: Any) -> Any:
    base = list(old) if old is not None else []
    if isinstance(new, (list, tuple)):
        base.extend(new)
    else:
        base.append(new)
    return base


def _add(old: Any, new: Any) -> Any:
    return new if old is None else old + new


def _merge(old: Any, new: Any) -> Any:
    if old is None:
        return dict(new)
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        raise TypeError(f"merge reducer needs dicts, got {type(old).__name__} and {type(new).__name__}")
    return {**old, **new}


def _replace(old: Any, new: Any) -> Any:
    return new


#: ``{"remove": REMOVE_ALL}`` in a ``messages`` update clears the list.
REMOVE_ALL = "__all__"


def _messages(old: Any, new: Any) -> Any:
    """A chat's message list (LangGraph's ``add_messages``): each message a dict; one
    whose ``id`` is already there replaces it in place, ``{"remove": id}`` removes one
    (``{"remove": "__all__"}`` all), any other is appended. A message without an ``id``
    gets ``"m<n>"``, n its position when added (the run's input too, when first
    reduced): the same on every run and replay."""
    out = [dict(m) for m in old] if old else []
    for i, m in enumerate(out):
        m.setdefault("id", f"m{i}")
    for m in new if isinstance(new, (list, tuple)) else [new]:
        if not isinstance(m, Mapping):
            raise TypeError(f"messages must be dicts (role, content, ...), got {m!r}")
        if "remove" in m:
            gone = m["remove"]
            if gone == REMOVE_ALL:
                out = []
                continue
            kept = [x for x in out if x.get("id") != gone]
            if len(kept) == len(out):
                raise TypeError(f"no message with id {gone!r} to remove (ids: "
                                f"{', '.join(repr(x.get('id')) for x in out) or 'none'})")
            out = kept
            continue
        m = dict(m)
        at = next((i for i, x in enumerate(out) if "id" in m and x.get("id") == m["id"]), None)
        if at is not None:
            out[at] = m
        else:
            m.setdefault("id", f"m{len(out)}")
            while any(x.get("id") == m["id"] for x in out):
                m["id"] = f"{m['id']}'"   # never two messages with one id
            out.append(m)
    return out


REDUCERS: dict[str, Reducer] = {
    "replace": _replace,
    "append": _append,
    "add": _add,
    "merge": _merge,
    "messages": _messages,
}


def resolve_reducer(spec: str | Reducer, conditions: Mapping[str, Reducer] | None = None) -> Reducer:
    """A reducer from its name (built-in or registered) or a callable ``(old, new) -> merged``."""
    if callable(spec):
        return spec
    if spec in REDUCERS:
        return REDUCERS[spec]
    if conditions and spec in conditions:
        return conditions[spec]
    raise GraphError(
        f"unknown reducer {spec!r}; use one of {sorted(REDUCERS)} or register one with "
        "@registry.reducer()"
    )


def check_json(values: dict[str, Any], node: str, run_id: str | None) -> None:
    """Refuse data a durable store could not write, or would not give back as written
    (:mod:`runtime.portable`: the same rule on every store), naming the key and node."""
    for key, value in values.items():
        found = _unstorable(key, value)
        if found is not None:
            who = "the run's input" if node == "input" else f"node {node!r}"
            where, what = found
            raise StateValidationError(
                f"{who} wrote {where}: it {what}", node=None if node == "input" else node,
                path=key, run_id=run_id)


def _unstorable(key: str, value: Any) -> tuple[str, str] | None:
    """(where, what is wrong) when ``data[key] = value`` cannot be stored as is."""
    bad_key = portable.text_problem(key)
    if bad_key is not None:
        return "a data key", bad_key[0]
    try:
        found = portable.check_encoded(_strict_json(value), value)
    except (TypeError, ValueError) as exc:
        return f"data.{key}", (f"cannot be stored as JSON ({exc}); write plain JSON values "
                               "(dict, list, str, int, float, bool, None)" + _hint(value))
    if found is None:
        return None
    return f"data.{key}" + ("" if found.path == "(value)" else f".{found.path}"), found.message


def _hint(value: Any) -> str:
    """What the usual mistake behind a value that is not JSON is, when it can be told."""
    if inspect.iscoroutine(value):
        value.close()   # never to be awaited now: no "never awaited" warning on top
        return ("; it is a coroutine: did the node forget `await` (as in "
                "`answer = await ask(...)`)?")
    if isinstance(value, BaseModel):
        return (f"; it is a {type(value).__name__} model (an answer of ask(schema=...) is "
                "one): write `value.model_dump(mode=\"json\")`")
    return ""


#: json.dumps with non-default arguments builds an encoder per call: build it once.
_strict_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def apply_values(data: dict[str, Any], values: Mapping[str, Any],
                 reducers: Mapping[str, Reducer], who: str, *, node: str | None,
                 run_id: str | None, owned: set[str] | None = None) -> dict[str, Any]:
    """Write ``values`` into ``data`` through ``reducers`` (replace for the others);
    return the new values of the keys written. ``who`` names the writer in errors.

    ``owned``: the keys whose list the caller made and handed to nobody (see
    :mod:`runtime.growing`); an ``append`` to one of them extends it in place, and a
    list the ``append`` reducer makes joins them. None: every write makes a new value."""
    changed: dict[str, Any] = {}
    for key, value in values.items():
        reducer = reducers.get(key)
        try:
            if owned is None:
                new = reducer(data.get(key), value) if reducer is not None else value
            elif reducer is _append:
                old = data.get(key)
                if key in owned and type(old) is list:
                    new = old
                    if isinstance(value, (list, tuple)):
                        new.extend(value)
                    else:
                        new.append(value)
                else:
                    new = _append(old, value)
                    owned.add(key)
            else:
                owned.discard(key)
                new = reducer(data.get(key), value) if reducer is not None else value
        except Exception as exc:
            raise StateValidationError(f"{who}: reducer for data key {key!r} failed: {exc}",
                                       node=node, path=key, run_id=run_id) from exc
        data[key] = changed[key] = new
    return changed


def validate_data(schema: type[BaseModel], data: dict[str, Any], who: str, *,
                  node: str | None, run_id: str | None) -> None:
    """Check ``data`` against the graph's schema, naming the writer and the field path."""
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        raise StateValidationError(
            f"{who} wrote invalid state at data.{path}: {err['msg']} (schema "
            f"{schema.__name__})", node=node, path=path, run_id=run_id) from exc


def validate_input(schema: type[BaseModel], data: dict[str, Any], run_id: str | None) -> None:
    """Check a run's input against the graph's schema before anything runs; the error
    lists every field path that is wrong (within ``data``)."""
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        errors = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"],
                   "type": e["type"]}
                  for e in exc.errors(include_url=False, include_context=False,
                                      include_input=False)]
        listed = "; ".join(f"data.{e['path']}: {e['message']}" for e in errors)
        raise InputValidationError(
            f"the run's input does not match the graph's state schema {schema.__name__} "
            f"({listed}); fix the input, nothing ran", errors=errors, run_id=run_id) from exc
