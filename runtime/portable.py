"""The one rule for JSON that every store keeps as given: names, config and state.

SQLite and PostgreSQL disagree about values that Python's ``json`` lets through.
PostgreSQL refuses text holding NUL (``\\u0000``) or a lone surrogate (``\\ud800``, not
Unicode at all), which SQLite stores; ``NaN`` and ``Infinity`` are not JSON, and SQLite
reads them back as null while PostgreSQL refuses them. So, for both stores alike:
text is Unicode without NUL, and numbers are finite. The HTTP API checks request
bodies, path and query parameters against this rule at the door (400); a runtime with
a durable store checks every state write (``StateValidationError``).

:func:`problem` walks a value and names the first offence with its path;
:func:`check_encoded` is the fast form for JSON text already encoded.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

__all__ = ["MAX_INT_DIGITS", "Problem", "check_encoded", "problem", "shown", "text_problem"]

#: Longest integer (in decimal digits) accepted: Python's own limit on converting
#: between int and text (``sys.get_int_max_str_digits``), so every accepted integer
#: can be written as JSON again.
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS

_SURROGATE = re.compile("[\ud800-\udfff]")
_SHOWN = re.compile("[\x00\ud800-\udfff]")
#: In JSON text made with ``ensure_ascii=False``: a NUL escape (an odd number of
#: backslashes before "u0000"), or a surrogate left as is.
_ENCODED = re.compile(r"(?<!\\)(?:\\\\)*\\u0000|[\ud800-\udfff]")


class Problem(NamedTuple):
    """Where a value breaks the rule, and how (``kind`` is a stable word)."""

    path: str
    message: str
    kind: str


def text_problem(text: str) -> tuple[str, str] | None:
    """``(message, kind)`` if ``text`` breaks the rule."""
    if "\x00" in text:
        return (("contains a NUL character (\\u0000), which PostgreSQL cannot store; "
                "remove it"), "nul_character")
    found = _SURROGATE.search(text)
    if found:
        return ((f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not "
                "Unicode text; send text as valid UTF-8"), "lone_surrogate")
    return None


def problem(value: Any, *, max_depth: int | None = None, root: str = "") -> Problem | None:
    """The first place where ``value`` breaks the rule (or nests deeper than
    ``max_depth`` containers), as a :class:`Problem`; None when it keeps it."""
    stack: list[tuple[Any, tuple[Any, ...], int]] = [(value, (), 0)]
    while stack:
        v, path, depth = stack.pop()
        found = _scalar_problem(v)
        if found is None and isinstance(v, dict | list):
            if max_depth is not None and depth >= max_depth:
                found = (f"is nested more than {max_depth} levels deep; flatten it",
                         "too_deep")
            else:
                items = v.items() if isinstance(v, dict) else enumerate(v)
                for key, item in items:
                    if isinstance(key, str) and (bad := text_problem(key)):
                        return Problem(_path(root, (*path, key)), f"key {bad[0]}", bad[1])
                    stack.append((item, (*path, key), depth + 1))
        if found is not None:
            return Problem(_path(root, path), *found)
    return None


def check_encoded(text: str, value: Any) -> Problem | None:
    """Like :func:`problem` for ``value`` already encoded as ``text`` (``json.dumps(value,
    ensure_ascii=False)``): one regular-expression scan, and a walk only on a hit."""
    if _ENCODED.search(text) is None:
        return None
    return problem(value)


def _scalar_problem(v: Any) -> tuple[str, str] | None:
    if isinstance(v, str):
        return text_problem(v)
    if isinstance(v, float) and not math.isfinite(v):
        return (f"is {v}, which is not a JSON number; send a finite number or null",
                "not_finite")
    if isinstance(v, int) and abs(v) >= _INT_LIMIT:
        return f"is an integer of more than {MAX_INT_DIGITS} digits", "int_too_long"
    return None


def _path(root: str, parts: tuple[Any, ...]) -> str:
    return shown(".".join([root, *map(str, parts)] if root else map(str, parts)) or "(value)")


def shown(text: str) -> str:
    """``text`` to show people: NUL and surrogates as escapes, not as themselves."""
    return _SHOWN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
