"""Table definitions and the two SQL dialects (SQLite, PostgreSQL).

Queries are written once with ``:name`` parameters; :class:`Dialect` turns them
into what each driver wants (sqlite3 takes ``:name`` natively, asyncpg needs
``$1..$n``) and converts JSON and timestamps at the boundary: PostgreSQL keeps
JSONB and TIMESTAMPTZ, SQLite keeps JSON text and ISO-8601 text.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

__all__ = ["MIGRATIONS", "POSTGRES", "SQLITE", "Dialect", "dumps", "loads"]


def dumps(value: Any) -> str:
    """Compact JSON; ``default=str`` so datetimes and UUIDs inside state survive."""
    return json.dumps(value, separators=(",", ":"), default=str)


def loads(value: Any) -> Any:
    if value is None or not isinstance(value, str | bytes):
        return value
    return json.loads(value)


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:a ... :b ... :a`` -> ``$1 ... $2 ... $1`` and the names in $-order."""
    names: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(repl, sql), tuple(names)


class Dialect:
    """What differs between SQLite and PostgreSQL, and nothing else."""

    def __init__(self, name: str, *, json_type: str, ts_type: str, serial: str) -> None:
        self.name = name
        self.json_type = json_type
        self.ts_type = ts_type
        self.serial = serial

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def sql(self, sql: str, params: dict[str, Any]) -> tuple[str, Any]:
        """The driver's form of ``sql`` and its parameters."""
        if not self.postgres:
            return sql, params
        text, names = _numbered(sql)
        return text, tuple(params[n] for n in names)

    def ts(self, value: datetime | None) -> Any:
        if value is None or self.postgres:
            return value
        # A fixed width, so that ISO strings compare like the instants they name.
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")

    @staticmethod
    def parse_ts(value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))

    def ddl(self, template: str) -> list[str]:
        """Statements of a migration with the type placeholders filled in."""
        text = template.format(json=self.json_type, ts=self.ts_type, serial=self.serial)
        return [s.strip() for s in text.split(";") if s.strip()]


SQLITE = Dialect(
    "sqlite", json_type="TEXT", ts_type="TEXT", serial="INTEGER PRIMARY KEY AUTOINCREMENT"
)
POSTGRES = Dialect("postgresql", json_type="JSONB", ts_type="TIMESTAMPTZ",
                   serial="BIGSERIAL PRIMARY KEY")

#: Versioned migrations, applied in order, each once. Never edit a released one:
#: add a new version instead.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE IF NOT EXISTS graphs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    nodes {json} NOT NULL,
    edges {json} NOT NULL,
    entry_point TEXT,
    definition {json} NOT NULL,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS graphs_name ON graphs (name);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    graph_id TEXT,
    graph_name TEXT NOT NULL,
    status TEXT NOT NULL,
    initial_state {json} NOT NULL,
    current_state {json},
    final_state {json},
    error TEXT,
    error_type TEXT,
    options {json} NOT NULL,
    parent_run_id TEXT,
    owner TEXT,
    interruptions INTEGER NOT NULL DEFAULT 0,
    created_at {ts} NOT NULL,
    started_at {ts},
    completed_at {ts},
    updated_at {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_graph_id ON runs (graph_id);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS execution_logs (
    id {serial},
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    node_name TEXT,
    status TEXT NOT NULL,
    timestamp {ts} NOT NULL,
    input_state {json},
    output_state {json},
    error TEXT
);
CREATE INDEX IF NOT EXISTS execution_logs_run_ts ON execution_logs (run_id, timestamp);
CREATE UNIQUE INDEX IF NOT EXISTS execution_logs_run_seq ON execution_logs (run_id, seq);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    nodes {json} NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'delta')),
    state {json},
    delta {json} NOT NULL,
    pending {json} NOT NULL,
    frames {json} NOT NULL,
    next_seq INTEGER NOT NULL,
    created_at {ts} NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    node TEXT,
    ts DOUBLE PRECISION NOT NULL,
    data {json} NOT NULL,
    PRIMARY KEY (run_id, seq)
)
"""),
]
