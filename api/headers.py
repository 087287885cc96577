"""Header lookups that cost no exception when the header is absent.

werkzeug's ``Headers.get``, ``in`` and ``setdefault`` find a missing header by raising
and catching a ``BadRequestKeyError`` (an HTTPException, costly to build); the request
path asks for several headers a client usually leaves out (``X-Request-ID``,
``Transfer-Encoding``, ``traceparent``) and sets several a response usually lacks (the
security headers), so every request paid for a handful of them. ``getlist`` and
iteration raise nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import Headers

__all__ = ["add_missing", "header"]


def header(headers: Headers, name: str, default: str = "") -> str:
    """The first value of header ``name`` (any case), else ``default``."""
    found = headers.getlist(name)
    return found[0] if found else default


def add_missing(headers: Headers, values: Iterable[tuple[str, str]]) -> None:
    """``headers.setdefault`` for each of ``values``, in one pass over ``headers``."""
    present = {key.lower() for key in headers.keys()}
    for name, value in values:
        if name.lower() not in present:
            headers.add(name, value)
