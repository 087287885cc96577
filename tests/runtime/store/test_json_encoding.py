"""The store's JSON encoder (``schema.dumps``): orjson where it is exact, ``json`` else.

Whatever encoder wrote a column, ``loads`` must read back what the ``json`` encoder
(every row written before orjson, format 1 and 2) would have given.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import json
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from runtime.store.schema import dumps, loads

_JSON = json.JSONEncoder(separators=(",", ":"), default=str).encode


class Colour(str, enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Tag(str):
    def __str__(self) -> str:   # json ignores this: it writes the string itself
        return "not me"


@dataclasses.dataclass
class Point:
    x: int


Pair = collections.namedtuple("Pair", "a b")

VALUES: list[Any] = [
    {"format": 2, "keys": ["counter"], "set": {"counter": 2}, "fields": {"iteration": 3}},
    ["A", "B"],
    {"nested": [1, 2.5, None, True, False, "x", {"deep": []}]},
    {"text": "é ü 😀 \u2028 \"quoted\" back\\slash\n"},
    {"small": 1e-7, "big": 1e300, "neg": -0.0, "int64": 2**63 - 1, "min": -(2**63)},
    {"huge": 2**70},                       # past 64 bits: orjson refuses, json writes it
    {1: "int key", None: "none key"},      # non-string keys: json's str() of them
    {"nan": math.nan, "inf": math.inf},    # json writes NaN/Infinity, never null
    {"when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "day": date(2026, 1, 2)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    {"enum": Colour.RED, "level": Level.HIGH, "tag": Tag("plain")},
    {"point": Point(1), "money": Decimal("1.50"), "set": frozenset([1])},
    {"pair": Pair(1, 2), "tuple": (1, 2)},
    [],
    {},
    "null",
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: repr(v)[:40])
def test_dumps_reads_back_as_json_wrote(value: Any) -> None:
    expected = json.loads(_JSON(value))
    got = loads(dumps(value))
    if isinstance(value, dict) and "nan" in value:
        assert math.isnan(got["nan"]) and got["inf"] == math.inf
        assert "NaN" in dumps(value) and "null" not in dumps(value)
        return
    assert got == expected
    assert type(dumps(value)) is str


def test_rows_written_by_json_read_back_the_same() -> None:
    """An existing row (json's text, non-ASCII escaped) and a new one (orjson's, not
    escaped) read back alike."""
    value = {"text": "é😀", "n": [1, 2.5]}
    old, new = _JSON(value), dumps(value)
    assert "\\u00e9" in old and "é" in new   # the text differs ...
    assert loads(old) == loads(new) == value  # ... what it reads back does not
