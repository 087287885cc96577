"""A run's owner: the runtime instance executing it, named so a reader can tell it is gone.

An instance id is ``host:pid:random``. A process killed with ``kill -9`` leaves its
runs ``running`` in the store until a runtime that recovers opens it (see
:mod:`runtime.recovery`); meanwhile a reader on the same host (``actorflow runs``) can
see that the owner's process no longer exists and say so instead of "running".
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["new_instance_id", "owner_gone"]


def new_instance_id() -> str:
    """A fresh instance id; host and pid first, so an operator reading ``runs.owner``
    knows which process it is."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str | None) -> bool:
    """True when ``owner`` is an instance id of a process on this host that no longer
    exists. False when it exists, or when it cannot be told from here (another host,
    an id chosen by the application): a reader then shows what the store says."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False           # another user's process: it exists
    return False
