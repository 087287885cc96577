"""Is the database reachable? One answer per store, and who waits for it.

A database outage must cost no run: a run that meets one *holds* (its writes and reads
wait, retried with backoff, for as long as the outage lasts) and goes on when the
database is back. Everything else, a new request above all, must not hang for the
length of the outage: once an outage is confirmed, it gets StoreUnavailableError at
once (one attempt, no retry loop), which the API answers with 503 and Retry-After.

Which caller holds is decided by :func:`holding`, from context variables: a run's task
(and every task it spawns) holds, for it carries the run's execution
(``runtime.interrupts.current_context``, set by ``Run.execute``: no variable more per
run); so does code inside :func:`hold_through_outages`; request handlers do not. The
variables are read on the caller's side, before a call crosses to the store's loop, so
this works as well under trio (store in a worker thread).

:class:`Availability` is written on the store's loop and read from any thread: each
field is one reference, replaced whole (GIL-atomic), so readers never see half of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from ..interrupts import current_context

__all__ = ["Availability", "Outage", "hold_through_outages", "holding"]

#: Failures for this long make an outage *confirmed*: callers that do not hold stop
#: retrying. Long enough to ride over a pooled connection that died with a restart
#: (the next attempt opens a new one), short enough that a request answers at once.
CONFIRM_SECONDS = 1.0

_HOLD: ContextVar[bool] = ContextVar("actorflow_store_hold", default=False)


def holding() -> bool:
    """True in a run's tasks: store calls wait out an outage instead of failing."""
    return current_context.get() is not None or _HOLD.get()


@contextmanager
def hold_through_outages() -> Iterator[None]:
    """Store calls made inside (and in tasks started inside) wait out an outage, as a
    run's do."""
    token = _HOLD.set(True)
    try:
        yield
    finally:
        _HOLD.reset(token)


@dataclass(frozen=True, slots=True)
class Outage:
    """The store is unreachable: which one, since when (UTC), and the last error."""

    store: str
    since: datetime
    last_error: str
    failures: int

    def public(self) -> dict[str, object]:
        return {"store": self.store, "since": self.since.isoformat(),
                "seconds": round((datetime.now(UTC) - self.since).total_seconds(), 1),
                "last_error": self.last_error, "failures": self.failures}


class Availability:
    """The reachability of one store, as its last attempts found it."""

    def __init__(self, store: str) -> None:
        self.store = store                    # the URL without its password
        self.outage: Outage | None = None
        self._down_at = 0.0                   # monotonic time of the outage's start
        #: monotonic time the last outage ended (0: none yet); leases use it.
        self.recovered_at = 0.0
        self.outages = 0                      # outages seen since the store opened

    @property
    def down(self) -> bool:
        return self.outage is not None

    @property
    def confirmed(self) -> bool:
        """Down for :data:`CONFIRM_SECONDS` or more: callers that do not hold give up."""
        return self.outage is not None and time.monotonic() - self._down_at >= CONFIRM_SECONDS

    def failed(self, exc: BaseException) -> None:
        """A transient failure (connection refused, lost, file locked) was seen."""
        error = f"{type(exc).__name__}: {exc}"[:500]
        current = self.outage
        if current is None:
            self._down_at = time.monotonic()
            self.outages += 1
            self.outage = Outage(self.store, datetime.now(UTC), error, 1)
        else:
            self.outage = Outage(self.store, current.since, error, current.failures + 1)

    def ok(self) -> None:
        """An attempt succeeded: the outage, if any, is over."""
        if self.outage is not None:
            self.outage = None
            self.recovered_at = time.monotonic()

    def since_recovery(self) -> float | None:
        """Seconds since the last outage ended; None if none ended (or one goes on)."""
        if self.outage is not None or not self.recovered_at:
            return None
        return time.monotonic() - self.recovered_at
