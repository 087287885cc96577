"""A run's owner: the runtime instance executing it, named so a reader can tell it is gone.

An instance id is ``host:pid:random:start``, ``start`` the process's start time in clock
ticks since boot (``/proc/PID/stat``; left out where there is no /proc), so that a pid the
system gave to another process since is told from the owner's. A process killed with
``kill -9`` leaves its
runs ``running`` in the store until a runtime that recovers opens it (see
:mod:`runtime.recovery`); meanwhile a reader on the same host (``actorflow runs``) can
see that the owner's process no longer exists and say so instead of "running".
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["new_instance_id", "owner_alive", "owner_gone"]


def new_instance_id() -> str:
    """A fresh instance id; host and pid first, so an operator reading ``runs.owner``
    knows which process it is, and the process's start time last."""
    pid = os.getpid()
    start = _started(pid)
    tail = "" if start is None else f":{start}"
    return f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}{tail}"


def _started(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (field 22 of
    /proc/PID/stat, counted after the command name, which may hold spaces and
    parentheses); None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 1:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _local_pid(owner: str | None) -> int | None:
    """The pid of ``owner`` when it is an instance id of this host, else None."""
    if not owner:
        return None
    host, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid)


def _reused(owner: str, pid: int) -> bool:
    """True when ``pid`` is now another process than ``owner``'s (it started at
    another time): the system gave the pid of a process that is gone to a new one."""
    start = owner.split(":")[3:4]
    if not start or not start[0].isdigit():
        return False       # an id without a start time (older, or no /proc): unknown
    now = _started(pid)
    return now is not None and now != int(start[0])


def owner_alive(owner: str | None) -> bool:
    """True when ``owner`` is another live actorflow process on this host (an
    ``actorflow run`` next to a starting ``serve`` on one SQLite file): its runs are
    being executed, and a recovering runtime must leave them alone.

    False for our own process (a runtime of this process that is gone left them), for
    a process that no longer exists, and when it cannot be told from here. A pid reused
    by a process that is not Python (where /proc tells) does not count as alive."""
    pid = _local_pid(owner)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass                   # another user's process: it exists
    if _reused(owner or "", pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return True            # no /proc here: existing is all we can tell
    return b"python" in cmdline or b"actorflow" in cmdline


def owner_gone(owner: str | None) -> bool:
    """True when ``owner`` is an instance id of a process on this host that no longer
    exists. False when it exists, or when it cannot be told from here (another host,
    an id chosen by the application): a reader then shows what the store says."""
    pid = _local_pid(owner)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False      # another user's process: it exists
    return _reused(owner or "", pid)
