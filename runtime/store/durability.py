"""Durability levels: what a committed write survives, and the settings that say so.

``"process"`` (the default) survives a crash of the actorflow process (kill -9,
an OOM kill) with nothing lost: SQLite in WAL mode with ``synchronous=NORMAL``
has a commit in the operating system's hands when it returns (the file stays
consistent on a power loss, which may drop the last commits); PostgreSQL with
``synchronous_commit=off`` has it in the server's memory when it answers, and
writes it out within about three ``wal_writer_delay`` (0.6 s by default): the
actorflow process may die at any time, but a crash of the PostgreSQL server or
its machine may lose that last fraction of a second (never corrupting anything).

``"power"`` also survives power loss and operating-system or server crashes:
SQLite ``synchronous=FULL`` (the WAL is fsynced at every commit), PostgreSQL
``synchronous_commit=on`` (the WAL is flushed, and replicated to synchronous
standbys where configured, before a commit returns). Group commit makes that one
fsync per batch of steps, whatever the number of runs in it.

*When* a run waits for its writes is the same at both levels (see
``Supervisor._checkpoint``): the level only decides what a commit means.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

__all__ = ["DEFAULT_DURABILITY", "Durability", "check_durability", "pg_settings",
           "sqlite_pragmas"]

Durability = Literal["process", "power"]
DEFAULT_DURABILITY: Durability = "process"
LEVELS: tuple[str, ...] = get_args(Durability)


def check_durability(value: str) -> Durability:
    """``value`` as a level, or ValueError naming the levels there are."""
    level = value.strip().lower() if isinstance(value, str) else value
    if level not in LEVELS:
        raise ValueError(
            f"unknown durability {value!r}: use 'process' (survives a crash of this process; "
            "the default) or 'power' (also survives power loss: an fsync per commit)")
    return cast(Durability, level)


def sqlite_pragmas(level: Durability) -> tuple[str, ...]:
    """The PRAGMAs a SQLite connection runs first (journal and sync mode)."""
    return ("journal_mode=WAL", "synchronous=FULL" if level == "power" else "synchronous=NORMAL")


def pg_settings(level: Durability) -> dict[str, str]:
    """Session settings of every PostgreSQL connection (asyncpg ``server_settings``).
    Set either way, so a server configured otherwise still keeps the promise."""
    return {"synchronous_commit": "on" if level == "power" else "off"}
