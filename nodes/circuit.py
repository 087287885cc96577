"""Circuit breakers for the hosted services nodes call (LLM and market-data providers).

A provider that is down makes every call wait out its timeouts and retries; with many runs
that is every run dragged down by one outage. A breaker per provider endpoint counts the
calls that failed for good with a *transient* error (5xx, 429, timeouts, refused
connections: the ``retryable`` ones) in a row:

- **closed**: calls go through; ``failures`` such failures in a row open it.
- **open**: calls fail at once (the caller's error type says which provider, until when,
  and what to do) until ``cooldown`` seconds have passed.
- **half-open**: one call, the probe, goes through; the others still fail fast. A probe
  that succeeds closes the breaker; one that fails opens it for another cool-down; one
  that is cancelled leaves it open with the cool-down over, so the next call probes.

An answer that is not transient (a 400, a bad key) proves the provider is up: it counts as
a success for the breaker, though the call itself failed.

The breakers live on a :class:`CircuitBoard`; the process-wide one (:func:`circuit_board`)
is configured by ``ACTORFLOW_CIRCUIT_FAILURES`` (default 5) and
``ACTORFLOW_CIRCUIT_COOLDOWN`` (seconds, default 30). Tests and embedders swap it with
:func:`use_circuit_board`; ``/metrics`` reads every breaker's state from it.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .slot import Slot

__all__ = ["CircuitBoard", "CircuitBreaker", "CircuitState", "OpenCircuit", "circuit_board",
           "use_circuit_board"]

FAILURES_ENV = "ACTORFLOW_CIRCUIT_FAILURES"
COOLDOWN_ENV = "ACTORFLOW_CIRCUIT_COOLDOWN"
DEFAULT_FAILURES = 5
DEFAULT_COOLDOWN = 30.0


class CircuitState(enum.Enum):
    """A breaker's state; ``value`` is what ``actorflow_circuit_state`` reports."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True, slots=True)
class OpenCircuit:
    """Why a call was refused: enough for the caller to write a clear error."""

    provider: str
    endpoint: str
    failures: int
    last_error: str
    retry_at: datetime      # UTC: when the next call may go through as the probe
    probing: bool           # the cool-down is over but a probe call is in flight

    def message(self) -> str:
        wait = max(0.0, (self.retry_at - datetime.now(UTC)).total_seconds())
        when = ("a probe call is in flight now" if self.probing else
                f"calls fail fast until {self.retry_at:%H:%M:%S} UTC (in {wait:.0f}s), then "
                "one probe call is let through")
        return (f"circuit open: {self.provider} at {self.endpoint} failed {self.failures} "
                f"times in a row (last: {self.last_error}); {when}. Check the provider's "
                f"status and this server's network and credentials; {FAILURES_ENV} and "
                f"{COOLDOWN_ENV} tune the breaker")


class CircuitBreaker:
    """The breaker of one provider endpoint (see the module doc)."""

    def __init__(self, provider: str, endpoint: str, *, failures: int, cooldown: float,
                 clock: Callable[[], float]) -> None:
        self.provider = provider
        self.endpoint = endpoint
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self.state = CircuitState.CLOSED
        self.failures = 0              # transient failures in a row
        self.fast_failures = 0         # calls refused without being sent, ever
        self.last_error = ""
        self._opened_at = 0.0
        self._probing = False

    def admit(self) -> OpenCircuit | None:
        """``None`` if the call may go (perhaps as the probe); else why not."""
        if self.state is CircuitState.CLOSED:
            return None
        over = self._clock() - self._opened_at >= self.cooldown
        if over and not self._probing:
            self.state, self._probing = CircuitState.HALF_OPEN, True
            return None
        self.fast_failures += 1
        retry_in = max(0.0, self._opened_at + self.cooldown - self._clock())
        return OpenCircuit(self.provider, self.endpoint, self.failures, self.last_error,
                           datetime.now(UTC) + timedelta(seconds=retry_in), self._probing)

    def succeeded(self) -> None:
        self.state, self.failures, self._probing = CircuitState.CLOSED, 0, False

    def failed(self, reason: str) -> None:
        self.failures += 1
        self.last_error = reason
        if self._probing or self.failures >= self.threshold:
            self.state, self._opened_at, self._probing = CircuitState.OPEN, self._clock(), False

    def abandoned(self) -> None:
        """The call ended with no verdict (cancelled): a probe's turn passes to the next call."""
        if self._probing:
            self.state, self._probing = CircuitState.OPEN, False
            self._opened_at = self._clock() - self.cooldown

    @contextmanager
    def guard(self, refuse: Callable[[OpenCircuit], Exception],
              transient: Callable[[Exception], bool]) -> Iterator[None]:
        """Around one call: refused (``refuse``'s error) while open; the call's outcome
        is recorded, ``transient`` telling which errors count as the provider failing."""
        refusal = self.admit()
        if refusal is not None:
            raise refuse(refusal)
        verdict = False
        try:
            yield
        except Exception as exc:
            verdict = True
            if transient(exc):
                self.failed(f"{type(exc).__name__}: {exc}"[:300])
            else:
                self.succeeded()
            raise
        else:
            verdict = True
            self.succeeded()
        finally:
            if not verdict:   # cancelled (a BaseException went through)
                self.abandoned()


class CircuitBoard:
    """The breakers of a process, one per (provider, endpoint), made on first use."""

    def __init__(self, *, failures: int = DEFAULT_FAILURES, cooldown: float = DEFAULT_COOLDOWN,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1:
            raise ValueError(f"a circuit breaker opens after >= 1 failures, got {failures}")
        if cooldown < 0:
            raise ValueError(f"a circuit breaker's cool-down is >= 0 seconds, got {cooldown}")
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def breaker(self, provider: str, endpoint: str) -> CircuitBreaker:
        key = (provider, endpoint)
        found = self._breakers.get(key)
        if found is None:
            found = self._breakers[key] = CircuitBreaker(
                provider, endpoint, failures=self.failures, cooldown=self.cooldown,
                clock=self._clock)
        return found

    def breakers(self) -> list[CircuitBreaker]:
        return list(self._breakers.values())

    @classmethod
    def from_env(cls) -> CircuitBoard:
        """Configured by ``ACTORFLOW_CIRCUIT_FAILURES`` and ``ACTORFLOW_CIRCUIT_COOLDOWN``.

        Raises:
            ValueError: naming the variable, if one is not a number in range.
        """
        return cls(failures=int(_number(FAILURES_ENV, DEFAULT_FAILURES)),
                   cooldown=_number(COOLDOWN_ENV, DEFAULT_COOLDOWN))


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw) if name == COOLDOWN_ENV else int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number; unset it or give e.g. "
                         f"{name}={default:g}") from None
    if value < (0 if name == COOLDOWN_ENV else 1):
        raise ValueError(f"{name}={raw!r} is out of range (failures >= 1, cool-down >= 0)")
    return value


_board: Slot[CircuitBoard] = Slot()


def circuit_board() -> CircuitBoard:
    """The process-wide board (built from the environment on first use)."""
    if _board.value is None:
        _board.value = CircuitBoard.from_env()
    return _board.value


def use_circuit_board(board: CircuitBoard) -> AbstractContextManager[CircuitBoard]:
    """Use ``board`` inside the block (tests, embedders), then the previous one again."""
    return _board.holding(board)
