"""One tenant-runs count query shared by the run requests that arrive while it runs.

Every start is checked against the tenant's bounds (:func:`api.bounds.check_tenant_runs`)
by counting the tenant's runs in the database. Under load, fifty starts of one tenant
at once made fifty identical queries, each a round trip to the store (under trio,
across threads to the store's loop). Here the first request of a tenant asks; the ones
arriving while its query is in flight wait for that answer instead of asking again,
and each sees it with the runs already admitted on it added to every count: the
answer is as fresh as a query of their own would have been when they arrived (the
database then did not hold those runs either), and more exact among them, since a
run this process admitted but has not yet stored is counted. Admitted runs count
against each bound (a new run is pending, then running): that errs toward refusing.
A failed or abandoned query is shared with nobody: each waiting request asks itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from runtime import Runtime

__all__ = ["SharedCounts"]


@dataclass
class _Flight:
    done: anyio.Event = field(default_factory=anyio.Event)
    counts: dict[str, int] | None = None
    admitted: int = 0   # requests that passed on this answer (runs on their way in)


class SharedCounts:
    """The in-flight count query of each (tenant, statuses), for one app."""

    def __init__(self) -> None:
        self._flights: dict[tuple[str, tuple[str, ...]], _Flight] = {}

    async def admit(self, rt: Runtime, tenant: str, statuses: tuple[str, ...],
                    refuse: Callable[[dict[str, int]], None]) -> None:
        """Count ``tenant``'s runs in ``statuses`` and call ``refuse(counts)``, which
        raises to refuse the start; when it returns, the start counts as admitted."""
        key = (tenant, statuses)
        flight = self._flights.get(key)
        if flight is not None:
            await flight.done.wait()
            if flight.counts is not None:
                self._decide(flight, refuse)
                return
            flight = None  # its query failed or was abandoned: ask ourselves
        flight = _Flight()
        self._flights.setdefault(key, flight)
        try:
            flight.counts = await rt.store.count_runs_by_status(list(statuses), tenant=tenant)
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.done.set()
        self._decide(flight, refuse)

    @staticmethod
    def _decide(flight: _Flight, refuse: Callable[[dict[str, int]], None]) -> None:
        # Synchronous from reading the answer to counting the admission: requests
        # sharing a flight decide one after the other, each seeing those before it.
        assert flight.counts is not None
        refuse({status: n + flight.admitted for status, n in flight.counts.items()})
        flight.admitted += 1
