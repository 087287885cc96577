"""Request rates: a token bucket per key (or subject) and per client IP.

Per process: with several servers behind a load balancer each one applies the rate
on its own (the README says so). The table of buckets is bounded, so a flood of
distinct addresses cannot grow memory without end; evicting a bucket only forgives
a client, it never refuses one wrongly.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

__all__ = ["RateLimiter"]

#: Buckets kept per limiter (least recently used ones go first).
MAX_BUCKETS = 50_000


class RateLimiter:
    """``rate`` tokens per second, at most ``burst`` stored; one token per request."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, who: str) -> float:
        """0 if ``who`` may go on now, else the seconds until it may (Retry-After)."""
        if not self.enabled:
            return 0.0
        now = time.monotonic()
        tokens, last = self._buckets.pop(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._remember(who, tokens - 1, now)
            return 0.0
        self._remember(who, tokens, now)
        return (1 - tokens) / self.rate

    def _remember(self, who: str, tokens: float, now: float) -> None:
        self._buckets[who] = (tokens, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
