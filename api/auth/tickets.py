"""Short-lived, single-use WebSocket tickets.

A browser cannot set an ``Authorization`` header on a WebSocket, and a long-lived key
in a URL ends up in access logs and browser history. So the page asks for a ticket
over HTTP (with its key in the header), then opens the socket with ``?ticket=...``:
the ticket is random, works once, expires in seconds, and names the principal that
asked for it. Tickets live in this process's memory: behind a load balancer, keep
the ticket request and the WebSocket on one instance (sticky sessions) or retry.
"""

from __future__ import annotations

import secrets
import time

from .principal import Principal

__all__ = ["TicketBook"]

#: Tickets held at once; past it the oldest go first (a flood cannot exhaust memory).
MAX_TICKETS = 10_000


class TicketBook:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._tickets: dict[str, tuple[float, Principal]] = {}

    def issue(self, principal: Principal) -> str:
        self._expire()
        while len(self._tickets) >= MAX_TICKETS:
            self._tickets.pop(next(iter(self._tickets)))
        ticket = secrets.token_urlsafe(32)
        self._tickets[ticket] = (time.monotonic() + self.ttl, principal)
        return ticket

    def redeem(self, ticket: str) -> Principal | None:
        """The ticket's principal, once; None for an unknown, used or expired ticket."""
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _expire(self) -> None:
        now = time.monotonic()
        for ticket in [t for t, (exp, _) in self._tickets.items() if exp < now]:
            del self._tickets[ticket]
