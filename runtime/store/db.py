"""Connections, sessions and retries; everything here runs on the store's worker loop.

``databases`` owns the URL handling, the asyncpg pool (size and idle lifetime
come from its options) and connection acquire/release. Statements go to the
raw driver connection it hands out, because ``databases`` compiles every raw
string through SQLAlchemy on every call, which costs more than the statement on
SQLite. SQLite gets two long-lived connections (one writer, one reader), since
``databases`` opens a new aiosqlite connection, with its own thread, per acquire.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlencode

import databases
import databases.core

from ..errors import StoreUnavailableError
from .availability import Availability
from .durability import DEFAULT_DURABILITY, Durability, sqlite_pragmas
from .multirow import multi_row
from .schema import BULK, Dialect

__all__ = ["Db", "Session", "is_transient", "release_connection"]

T = TypeVar("T")
log = logging.getLogger("actorflow.store")


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the server or the file is briefly unreachable or busy."""
    if isinstance(exc, sqlite3.OperationalError):
        msg = str(exc).lower()
        return "locked" in msg or "busy" in msg
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return True
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - asyncpg comes with databases[asyncpg]
        return False
    if isinstance(exc, asyncpg.DataError):  # a bad argument: a bug, not an outage
        return False
    return isinstance(exc, (
        asyncpg.InterfaceError,                 # includes ConnectionDoesNotExistError
        # "cannot switch to state 11; another operation (2) is in progress": the server
        # sent its shutdown error to an idle connection that is not closed yet. The
        # connection is unusable; a fresh one (the caller discards it) is not.
        asyncpg.InternalClientError,
        asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
        asyncpg.exceptions.OperatorInterventionError,  # 57: admin shutdown, cannot connect now
        asyncpg.exceptions.InsufficientResourcesError,  # 53: too many connections
        asyncpg.exceptions.SerializationError,
        asyncpg.exceptions.DeadlockDetectedError,
    ))


class Session:
    """One raw driver connection with a dialect-neutral API (``:name`` params)."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect

    async def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        text, args = self.dialect.sql(sql, params or {})
        if self.dialect.postgres:
            await self.raw.execute(text, *args)
        else:
            await self.raw.execute_fetchall(text, args)

    async def raw_execute(self, sql: str) -> None:
        """A statement with no parameters, as written (``$$`` bodies, trigger bodies)."""
        if self.dialect.postgres:
            await self.raw.execute(sql)
        else:
            await self.raw.execute_fetchall(sql, ())

    async def executemany(self, sql: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.dialect.postgres:
            text, _ = self.dialect.sql(sql, rows[0])
            await self.raw.executemany(text, [self.dialect.sql(sql, r)[1] for r in rows])
        else:
            await self.raw.executemany(sql, rows)

    async def write(self, plan: list[tuple[str, list[dict[str, Any]]]],
                    on_commit: Callable[[], None] | None = None) -> None:
        """One transaction running each statement over its rows, in order.

        SQLite: the whole transaction is ONE call into aiosqlite's connection
        thread (each aiosqlite call is a thread hop there and back, which costs
        more than the statements). PostgreSQL: the hot statements (events, logs,
        checkpoints: see :class:`~.schema.Bulk`) as ONE statement, a single round
        trip; any others (run rows) before it, in a transaction.

        ``on_commit()`` is called as soon as the transaction has committed, in the
        thread that committed it (SQLite's connection thread): whoever waits for
        the commit hears of it then, not once this coroutine's loop gets round to
        resuming it. It must be thread-safe and must not raise.
        """
        if self.dialect.postgres:
            await self._pg_write(plan)
            if on_commit is not None:
                on_commit()
            return
        run_in_thread = getattr(self.raw, "_execute", None)
        if run_in_thread is None:  # pragma: no cover - another aiosqlite: a hop per statement
            async with self.transaction():
                for sql, rows in plan:
                    await self.raw.executemany(sql, rows)
            if on_commit is not None:
                on_commit()
            return
        await run_in_thread(_sqlite_write, self.raw._conn, plan, on_commit)

    async def _pg_write(self, plan: list[tuple[str, list[dict[str, Any]]]]) -> None:
        ctes: list[str] = []
        args: list[Any] = []
        others: list[tuple[str, list[dict[str, Any]]]] = []
        for sql, rows in plan:
            bulk = BULK.get(sql)
            if bulk is None:
                others.append((sql, rows))
                continue
            text, params = bulk.statement(rows, len(args) + 1)
            ctes.append(f"w{len(ctes)} AS ({text})")
            args.extend(params)
        combined = f"WITH {', '.join(ctes)} SELECT 1" if ctes else None
        if not others:
            if combined is not None:
                await self.raw.execute(combined, *args)
            return
        async with self.raw.transaction():
            for sql, rows in others:
                text, first = self.dialect.sql(sql, rows[0])
                if len(rows) == 1:
                    await self.raw.execute(text, *first)
                else:
                    await self.raw.executemany(
                        text, [first] + [self.dialect.sql(sql, r)[1] for r in rows[1:]])
            if combined is not None:
                await self.raw.execute(combined, *args)

    async def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        text, args = self.dialect.sql(sql, params or {})
        if self.dialect.postgres:
            return [dict(r) for r in await self.raw.fetch(text, *args)]
        return [dict(r) for r in await self.raw.execute_fetchall(text, args)]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """One transaction. SQLite takes the write lock up front (BEGIN IMMEDIATE):
        upgrading a read lock later can fail with 'database is locked' at once."""
        if self.dialect.postgres:
            async with self.raw.transaction():
                yield self
            return
        committed = False
        try:
            # Inside the try: a caller cancelled while BEGIN runs in aiosqlite's thread
            # must still roll back, or the connection stays in a transaction and every
            # later unit fails with "cannot start a transaction within a transaction".
            await self.raw.execute_fetchall("BEGIN IMMEDIATE", ())
            yield self
            await self.raw.execute_fetchall("COMMIT", ())
            committed = True
        finally:
            if not committed:
                try:
                    await self.raw.execute_fetchall("ROLLBACK", ())
                except Exception as exc:  # noqa: BLE001 - the connection is gone
                    log.debug("rollback failed: %r", exc)


def _sqlite_write(conn: sqlite3.Connection, plan: list[tuple[str, list[dict[str, Any]]]],
                  on_commit: Callable[[], None] | None = None) -> None:
    """:meth:`Session.write` for SQLite, run in the aiosqlite connection's thread."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in plan:
            if len(rows) == 1:
                conn.execute(sql, rows[0])
                continue
            # Many rows of an INSERT: a few multi-row statements, not one step (and
            # one wait for the GIL) per row (see :mod:`.multirow`).
            parts = multi_row(sql, rows)
            if parts is None:
                conn.executemany(sql, rows)
                continue
            for text, params in parts:
                conn.execute(text, params)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:  # the connection is gone
                log.debug("rollback failed: %r", exc)
        raise
    if on_commit is not None:
        try:
            on_commit()
        except Exception:  # noqa: BLE001 - committed: an error here must not read as a failed write
            log.exception("after a commit: on_commit failed")


class _Held:
    """A ``databases`` connection kept acquired across units of work."""

    def __init__(self, db: databases.Database, dialect: Dialect, busy_ms: int,
                 durability: Durability) -> None:
        self._db, self._dialect, self._busy_ms = db, dialect, busy_ms
        self._durability = durability
        self._conn: databases.core.Connection | None = None
        self.session: Session | None = None
        self.lock = asyncio.Lock()

    async def get(self) -> Session:
        if self.session is None:
            if not self._dialect.postgres:
                # aiosqlite stops the worker thread of a connection that fails to open
                # without waiting for it, and the thread then reports to this loop: if
                # the loop is closed by then (a CLI command that failed to open its
                # database ends at once), it raises "Event loop is closed" in that
                # thread. Opening the file here first fails the same way, in a thread
                # that is done before this returns, and no aiosqlite thread is started.
                await asyncio.to_thread(_probe_sqlite, self._db.url, self._db.options)
            conn = databases.core.Connection(self._db, self._db._backend)
            await conn.__aenter__()
            ready = False
            try:
                raw = conn.raw_connection
                if not self._dialect.postgres:
                    raw.row_factory = sqlite3.Row
                    for pragma in (*sqlite_pragmas(self._durability),
                                   f"busy_timeout={self._busy_ms}"):
                        await raw.execute_fetchall(f"PRAGMA {pragma}", ())
                ready = True
            finally:
                if not ready:
                    await release_connection(conn)
            self._conn, self.session = conn, Session(raw, self._dialect)
        return self.session

    async def discard(self) -> None:
        conn, self._conn, self.session = self._conn, None, None
        if conn is not None:
            await release_connection(conn)


def _probe_sqlite(url: databases.DatabaseURL, options: dict[str, Any]) -> None:
    """Open and close the SQLite file of ``url`` as ``databases``' aiosqlite pool does."""
    target = url.database
    if url.options:
        target += "?" + urlencode(url.options)
    sqlite3.connect(target, isolation_level=None, **options).close()


async def release_connection(conn: databases.core.Connection) -> None:
    try:
        await asyncio.wait_for(conn.__aexit__(None, None, None), 5)
    except Exception as exc:  # noqa: BLE001 - a dead connection may fail to close
        log.debug("releasing a connection failed: %r", exc)


class Db:
    """The database as seen from the worker loop: connect, sessions, retries."""

    def __init__(self, url: str, dialect: Dialect, options: dict[str, Any], *,
                 unavailable_timeout: float, busy_timeout: float,
                 durability: Durability = DEFAULT_DURABILITY) -> None:
        self.url, self.dialect, self.options = url, dialect, options
        self.durability = durability
        self.unavailable_timeout = unavailable_timeout
        self.database: databases.Database | None = None
        self.busy_timeout = busy_timeout
        self._busy_ms = int(busy_timeout * 1000)
        self._writer: _Held | None = None
        self._reader: _Held | None = None
        #: What the last attempts found (runtime.store.availability).
        self.availability = Availability(_safe(url))

    async def connect(self) -> None:
        async def attempt() -> None:
            db = databases.Database(self.url, **self.options)
            await db.connect()
            self.database = db
            self._writer = _Held(db, self.dialect, self._busy_ms, self.durability)
            self._reader = _Held(db, self.dialect, self._busy_ms, self.durability)

        # Not fail-fast: a store opened while its database starts waits for it.
        await self.retry(attempt, time.monotonic() + self.unavailable_timeout, fast=False)

    async def disconnect(self) -> None:
        for held in (self._writer, self._reader):
            if held is not None:
                await held.discard()
        if self.database is not None:
            try:
                await asyncio.wait_for(self.database.disconnect(), 10)
            finally:
                self.database = None

    @asynccontextmanager
    async def session(self, writer: bool = False) -> AsyncIterator[Session]:
        assert self._writer is not None and self._reader is not None and self.database
        # PostgreSQL reads borrow a pooled connection each; the rest use a held one.
        if not writer and self.dialect.postgres:
            async with databases.core.Connection(self.database, self.database._backend) as c:
                yield Session(c.raw_connection, self.dialect)
            return
        held = self._writer if writer else self._reader
        async with held.lock:
            try:
                yield await held.get()
            except Exception as exc:
                if is_transient(exc) and not isinstance(exc, sqlite3.OperationalError):
                    await held.discard()  # the connection is probably dead
                raise

    async def run(self, unit: Callable[[Session], Awaitable[T]], *, writer: bool = False,
                  deadline: float | None = None, hold: bool = False) -> T:
        """Run ``unit`` with a session, retrying transient errors until ``deadline``.

        ``hold`` (a run's own call): retry for as long as the database is away. Else
        give up at once when an outage is confirmed (:mod:`.availability`).
        """
        async def attempt() -> T:
            async with self.session(writer) as session:
                return await unit(session)

        if hold:
            deadline = float("inf")
        elif deadline is None:
            deadline = time.monotonic() + self.unavailable_timeout
        # SQLite readers go on while another process holds the write lock: only a write
        # shows that such an outage is over.
        ends = writer or self.dialect.postgres
        return await self.retry(attempt, deadline, fast=not hold, ends_outage=ends)

    async def retry(self, attempt: Callable[[], Awaitable[T]], deadline: float, *,
                    fast: bool = True, ends_outage: bool = True) -> T:
        """``attempt`` until it succeeds, retrying transient errors with backoff until
        ``deadline``; ``fast``: not past the point an outage is confirmed;
        ``ends_outage``: a success shows the database is back."""
        delay = 0.02
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.availability.failed(exc)
                if time.monotonic() + delay > deadline or (fast and self.availability.confirmed):
                    raise self.unavailable(exc) from exc
            else:
                if ends_outage:
                    self.availability.ok()
                return result
            await asyncio.sleep(delay)
            delay = backoff(delay)

    def unavailable(self, exc: BaseException | None = None) -> StoreUnavailableError:
        """The error a caller that does not hold gets during an outage."""
        outage = self.availability.outage
        last = f"{type(exc).__name__}: {exc}" if exc is not None else (
            outage.last_error if outage is not None else "unknown")
        since = f" since {outage.since:%H:%M:%S} UTC" if outage is not None else ""
        return StoreUnavailableError(
            f"database {_safe(self.url)} unreachable{since} ({last}); runs in flight hold "
            "and go on when it is back; retry this request shortly", transient=True)

    async def ping(self) -> bool:
        """The database answers; SQLite's file also takes a write lock (a file that
        another process keeps locked is an outage although reads go on)."""
        async def select1(s: Session) -> bool:
            if self.dialect.postgres:
                rows = await s.fetch("SELECT 1 AS one")
            else:
                async with s.transaction():
                    rows = await s.fetch("SELECT 1 AS one")
            return bool(rows and rows[0]["one"] == 1)

        return await self.run(select1, writer=not self.dialect.postgres,
                              deadline=time.monotonic() + 2.0)


def backoff(delay: float, cap: float = 2.0) -> float:
    """Next exponential-backoff delay, with jitter so restarts don't stampede."""
    return min(cap, delay * 2) * random.uniform(0.8, 1.2)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return str(databases.DatabaseURL(url).obscure_password)
