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

import orjson

__all__ = ["BULK", "MIGRATIONS", "POSTGRES", "RAW_MIGRATIONS", "SQLITE", "Bulk", "Dialect", "dumps",
           "loads"]


_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode

#: orjson writes what ``_encode`` writes for plain JSON values, several times faster.
#: Everything else is handed to :func:`_not_plain` (datetimes, dataclasses, subclasses
#: of str/int/dict/list: ``_encode`` has its own rules for those), which sends the
#: whole value to ``_encode``, as do integers past 64 bits and non-string keys (orjson
#: refuses them).
_FAST_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                 | orjson.OPT_PASSTHROUGH_SUBCLASS)


class _NotPlain(Exception):
    pass


def _not_plain(value: Any) -> Any:
    raise _NotPlain


def dumps(value: Any) -> str:
    """Compact JSON; ``default=str`` so datetimes and UUIDs inside state survive.

    Encoded by orjson where that reads back (``json.loads``) as what ``json`` wrote
    (the text may differ: orjson leaves non-ASCII characters as they are, and writes
    ``1e-7`` for ``1e-07``), else by ``json``: a value orjson refuses or hands to
    ``default``, and one whose text holds ``null`` (orjson writes NaN and infinities
    as null, ``json`` as ``NaN``/``Infinity``). One difference is left: a plain
    :class:`enum.Enum` member (not a str or int one) is written as its value, where
    ``json`` wrote ``str(member)``; a durable runtime refuses one in state (only plain
    JSON values may be written there: ``runtime.portable``).
    """
    if type(value) is list and not value:
        return "[]"
    if type(value) is dict and not value:
        return "{}"
    try:
        text = orjson.dumps(value, default=_not_plain, option=_FAST_OPTIONS)
    except TypeError:   # orjson.JSONEncodeError: not plain, or not for orjson
        return _encode(value)
    if b"null" in text:
        return _encode(value)
    return text.decode()


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
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")

    @staticmethod
    def parse_ts(value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))

    def ddl(self, template: str) -> list[str]:
        """Statements of a migration with the type placeholders filled in."""
        text = template.format(json=self.json_type, ts=self.ts_type, serial=self.serial)
        return [s.strip() for s in text.split(";") if s.strip()]


class Bulk:
    """How PostgreSQL writes all rows of one hot statement inside a single statement.

    ``template`` is the statement with ``{rows}`` where the rows go. The writer joins
    the hot statements of a batch into one ``WITH ... SELECT`` (data-modifying CTEs):
    one round trip, atomic by itself, instead of BEGIN + one round trip per statement
    + COMMIT. ``key`` (for upserts): rows with the same values there are written once,
    the last one winning, since one statement may not update a row twice.

    The rows go as ONE JSON parameter (``json_to_recordset``) where the template
    reads them with ``SELECT * FROM {rows}``: orjson writes it in C, and the server
    parses it, where asyncpg would encode one array per column (``unnest($i::type[],
    ...)``), checking every element against the collection ABCs in Python (about 70
    ``isinstance`` calls and the arrays' encoding per durable step, ~10% of the event
    loop's time with 100 runs). JSON columns travel as text and are cast, as they
    are in the arrays. Rows JSON cannot carry as they are (see :meth:`statement`),
    and the other templates, take the arrays.
    """

    __slots__ = ("columns", "key", "record", "template", "types")

    def __init__(self, template: str, columns: tuple[str, ...], types: tuple[str, ...],
                 key: tuple[str, ...] = ()) -> None:
        assert len(columns) == len(types)
        self.template, self.columns, self.types, self.key = template, columns, types, key
        #: the json_to_recordset form ("{first}": the parameter's number), or None
        self.record: str | None = None
        if "SELECT * FROM {rows}" in template:
            sel = ", ".join(f"t.{c}::jsonb" if t == "jsonb" else f"t.{c}"
                            for c, t in zip(columns, types, strict=True))
            defs = ", ".join(f"{c} {'text' if t == 'jsonb' else t}"
                             for c, t in zip(columns, types, strict=True))
            self.record = template.replace("{", "{{").replace("}", "}}").replace(
                "SELECT * FROM {{rows}}",
                f"SELECT {sel} FROM json_to_recordset(${{first}}::json) AS t({defs})")

    def sql(self, first: int) -> str:
        """The statement with its arrays numbered from ``$first``."""
        arrays = ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(self.types))
        return self.template.format(rows=f"unnest({arrays})")

    def arrays(self, rows: list[dict[str, Any]]) -> list[list[Any]]:
        if self.key:
            rows = self._unique(rows)
        return [[r[c] for r in rows] for c in self.columns]

    def _unique(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list({tuple(r[k] for k in self.key): r for r in rows}.values())

    def statement(self, rows: list[dict[str, Any]], first: int) -> tuple[str, list[Any]]:
        """The statement writing ``rows`` with its parameters numbered from ``$first``,
        and those parameters."""
        if self.record is not None:
            try:
                blob = orjson.dumps(self._unique(rows) if self.key else rows,
                                    default=_not_plain, option=_ROW_OPTIONS)
            except TypeError:   # a value JSON would not carry as it is: the arrays
                blob = b""
            # PostgreSQL's JSON refuses \u0000 (as its text does: the arrays fail alike).
            if blob and b"\\u0000" not in blob:
                return self.record.format(first=first), [blob.decode()]
        return self.sql(first), self.arrays(rows)


#: A row's values are text, numbers, null and timestamps (timestamptz columns; a naive
#: one is UTC, as asyncpg takes it); anything else goes to ``_not_plain``: the arrays.
_ROW_OPTIONS = (orjson.OPT_NAIVE_UTC | orjson.OPT_PASSTHROUGH_DATACLASS
                | orjson.OPT_PASSTHROUGH_SUBCLASS)


#: Statement text (``:name`` form) -> its PostgreSQL bulk form.
BULK: dict[str, Bulk] = {}


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
    # 2: a small key-value cache (LLM responses keyed by model + prompt), per namespace.
    (2, """
CREATE TABLE IF NOT EXISTS kv_cache (
    namespace TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    value {json} NOT NULL,
    created_at {ts} NOT NULL,
    PRIMARY KEY (namespace, cache_key)
)
"""),
    # 3: why a failed run failed (exception type, message, node, attempt, traceback).
    (3, """
ALTER TABLE runs ADD COLUMN failure {json}
"""),
    # 4: the checkpoint position as one typed, versioned JSON object (runtime.position,
    # format 2). Rows written before keep format 1 in ``pending`` and ``frames``.
    (4, """
ALTER TABLE checkpoints ADD COLUMN position {json}
"""),
    # 5: threads (conversations over many runs); a run records the thread it is a turn
    # of. ``writer`` is the run holding the thread, taken by a conditional UPDATE (a row
    # lock on PostgreSQL), so two processes never both write one thread.
    (5, """
ALTER TABLE runs ADD COLUMN thread_id TEXT;
CREATE INDEX IF NOT EXISTS runs_thread ON runs (thread_id, created_at);
CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL DEFAULT 'default',
    graph_name TEXT,
    state {json},
    metadata {json} NOT NULL,
    copied_from TEXT,
    writer TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL
)
"""),
    # 6: tenants (every graph and run belongs to one, as threads do since 5), hashed
    # API keys, and the audit log. Graph names stay unique across
    # tenants: the runtime resolves stored graphs by name.
    (6, """
ALTER TABLE graphs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
CREATE INDEX IF NOT EXISTS runs_tenant_created ON runs (tenant, created_at);
CREATE INDEX IF NOT EXISTS graphs_tenant ON graphs (tenant);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL,
    name TEXT NOT NULL,
    tenant TEXT NOT NULL,
    scopes {json} NOT NULL,
    created_at {ts} NOT NULL,
    last_used_at {ts},
    revoked_at {ts},
    replaced_by TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_prefix ON api_keys (prefix);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant);
CREATE TABLE IF NOT EXISTS audit_log (
    id {serial},
    ts {ts} NOT NULL,
    tenant TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    ip TEXT,
    action TEXT NOT NULL,
    resource TEXT,
    outcome TEXT NOT NULL,
    status INTEGER NOT NULL,
    request_id TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_tenant_ts ON audit_log (tenant, ts)
"""),
    # 7: leases (runtime.lease): the epoch of the run's current claim and until when it
    # holds; ``lease_fence`` is where a write proves its epoch (see RAW_MIGRATIONS).
    (7, """
ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN lease_until {ts};
CREATE INDEX IF NOT EXISTS runs_claimable ON runs (status, lease_until);
CREATE TABLE IF NOT EXISTS lease_fence (run_id TEXT NOT NULL, epoch INTEGER NOT NULL)
"""),
    # 8: graph names are unique per tenant (a 409 must not tell one tenant that another
    # has a graph of that name); existing rows stay, their names were unique already.
    # Runs are counted per tenant and status at every start (the tenant's bounds).
    (8, """
DROP INDEX IF EXISTS graphs_name;
CREATE UNIQUE INDEX IF NOT EXISTS graphs_tenant_name ON graphs (tenant, name);
CREATE INDEX IF NOT EXISTS runs_tenant_status ON runs (tenant, status)
"""),
    # 9: an execution log's input by reference (runtime.store.logs): the checkpoint step
    # whose state the node read; rows written since leave ``input_state`` NULL.
    (9, """
ALTER TABLE execution_logs ADD COLUMN input_step INTEGER
"""),
]

#: Statements of a migration that differ per dialect and hold semicolons of their own
#: (function and trigger bodies), run whole after the version's template:
#: version -> dialect name -> statements.
RAW_MIGRATIONS: dict[int, dict[str, list[str]]] = {
    # Fencing: inserting (run_id, epoch) into lease_fence fails unless the run's lease is
    # at that epoch, and stores nothing. Every write of a leased run does it first, in
    # the same transaction: a process whose lease was taken over writes nothing.
    7: {
        "postgresql": [
            """
CREATE OR REPLACE FUNCTION actorflow_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held INTEGER;
BEGIN
    -- FOR SHARE: a claim bumping the epoch waits until this write commits.
    SELECT lease_epoch INTO held FROM runs WHERE id = NEW.run_id FOR SHARE;
    IF held IS DISTINCT FROM NEW.epoch THEN
        RAISE EXCEPTION 'stale lease: run % is at lease epoch %, this write carries epoch %',
            NEW.run_id, held, NEW.epoch;
    END IF;
    RETURN NULL;
END
$$""",
            "CREATE TRIGGER lease_fence_check BEFORE INSERT ON lease_fence FOR EACH ROW "
            "EXECUTE FUNCTION actorflow_fence()",
        ],
        "sqlite": [
            "CREATE TRIGGER IF NOT EXISTS lease_fence_check BEFORE INSERT ON lease_fence "
            "WHEN (SELECT lease_epoch FROM runs WHERE id = NEW.run_id) IS NOT NEW.epoch "
            "BEGIN SELECT RAISE(ABORT, 'stale lease: another process holds this run now'); END",
            "CREATE TRIGGER IF NOT EXISTS lease_fence_drop AFTER INSERT ON lease_fence "
            "BEGIN DELETE FROM lease_fence WHERE rowid = NEW.rowid; END",
        ],
    },
}
