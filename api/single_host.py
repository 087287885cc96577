"""One executing process per SQLite file: SQLite is a single-host store.

Two processes executing the runs of one SQLite file would each resume the other's
runs as crashed; a second one is refused at start with what to do instead. (In a
cluster, ``--cluster on``, leases make several executors safe on one host.) Readers
(``actorflow runs``, ``history``) take no lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from .settings import SettingsError

__all__ = ["executor_lock"]


@contextmanager
def executor_lock(database_url: str, *, clustered: bool) -> Iterator[None]:
    """Hold the SQLite file's executor lock while the block runs (a no-op for other
    databases and in a cluster). Raises SettingsError when another process holds it."""
    path = _sqlite_path(database_url)
    if path is None or clustered:
        yield
        return
    lock_path = path + ".executor.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise SettingsError(
                f"another actorflow process (pid {holder}) executes the runs of {path}: "
                "SQLite serves one executing process per file. Stop it, use it (its API "
                "serves every run), or move to PostgreSQL to run several processes") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _sqlite_path(url: str) -> str | None:
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return None if path in ("", ":memory:") else os.path.abspath(path)
