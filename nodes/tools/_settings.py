"""Where a node's settings come from, and how bad values are reported.

A setting is looked up in the run's input (``state.data``), then the run's
config (``state.config``), then the node's config (the graph definition), then
a default. The run's input wins because the seed's requests put per-run knobs
there (``{"code": ..., "quality_threshold": 70}``); the node config is where a
graph author sets defaults in JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime import WorkflowState

__all__ = ["bool_setting", "int_setting", "raw_setting", "text_input"]

_MISSING = object()


def raw_setting(state: WorkflowState, config: Mapping[str, Any], key: str) -> Any:
    """The first non-``None`` value of ``key`` (data, run config, node config), or ``None``."""
    for source in (state.data, state.config, config):
        value = source.get(key)
        if value is not None:
            return value
    return None


def int_setting(
    state: WorkflowState, config: Mapping[str, Any], key: str, default: int, *, minimum: int = 0
) -> int:
    """An integer setting ``>= minimum``; floats with an integral value are accepted.

    Raises:
        ValueError: naming the key and the value when it is not such a number.
    """
    value = raw_setting(state, config, key)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be a whole number >= {minimum}, got {value!r}")
    return value


def bool_setting(state: WorkflowState, config: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean setting (JSON ``true``/``false``).

    Raises:
        TypeError: naming the key when the value is not a boolean.
    """
    value = raw_setting(state, config, key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise TypeError(f"{key} must be true or false, got {value!r}")
    return value


def text_input(state: WorkflowState, key: str) -> str:
    """The required text input ``data[key]``.

    Raises:
        ValueError: saying what to send when it is missing.
        TypeError: when it is not a string.
    """
    value = state.data.get(key, _MISSING)
    if value is _MISSING or value is None:
        raise ValueError(f"input {key!r} is missing: start the run with {{{key!r}: \"...\"}}")
    if not isinstance(value, str):
        raise TypeError(f"input {key!r} must be a string, got {type(value).__name__}")
    return value
