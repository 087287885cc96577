"""The HTTP transport shared by the network providers, written once.

:class:`HttpTransport` POSTs JSON and returns the decoded JSON answer. It owns
everything that is the same for every HTTP LLM API, so that the providers only
build request bodies and parse response bodies:

* an :class:`httpx.AsyncClient` - httpx runs on anyio, hence on asyncio *and*
  trio; a client is created lazily per event loop, because pooled connections
  belong to the loop that opened them;
* a per-attempt timeout that bounds the *whole* attempt (httpx timeouts are
  per socket operation, so a server trickling bytes could otherwise hold a
  call forever);
* retries with exponential backoff and jitter on 408/409/429/5xx, timeouts and
  connection errors, honouring ``Retry-After`` (delta-seconds or HTTP-date,
  and OpenAI's ``retry-after-ms``), capped by :attr:`HttpRetryPolicy.max_retry_after`;
* a circuit breaker per provider endpoint (:mod:`nodes.circuit`): after repeated
  failures calls fail fast with :class:`LLMCircuitOpenError` until a probe succeeds;
* mapping every failure to :class:`LLMError` with ``raise ... from exc``; a
  non-retryable 4xx fails at once and carries the provider's own error message
  (e.g. "API key not valid"), because that is what the user needs to fix it.
"""

from __future__ import annotations

import abc
import email.utils
import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import anyio
import httpx
from anyio.lowlevel import RunVar

from runtime.tracing import inject_headers

from ..circuit import CircuitBreaker, OpenCircuit, circuit_board
from .base import LLMRequest, LLMResponse
from .errors import LLMCircuitOpenError, LLMError, LLMTimeoutError

__all__ = [
    "HttpProviderBase",
    "HttpTransport",
    "HttpRetryPolicy",
    "error_message_from_response",
    "parse_retry_after",
]

logger = logging.getLogger("actorflow.llm")

_USER_AGENT = "actorflow-llm/0.1"


@dataclass(frozen=True, slots=True)
class HttpRetryPolicy:
    """How hard to try.

    ``max_attempts`` counts the first try (``1`` = never retry). Backoff before
    retry *n* is drawn from ``[d/2, d]`` with ``d = min(max_delay, base_delay * 2**(n-1))``
    ("equal jitter"): the random half spreads a herd of clients hitting the same
    rate limit, the fixed half guarantees they still back off.
    A server's ``Retry-After`` replaces the backoff but is capped at
    ``max_retry_after`` so one hostile header cannot park a run for an hour.
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({408, 409, 429}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must be >= 0")

    def is_retryable_status(self, status: int) -> bool:
        return status >= 500 or status in self.retry_statuses

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        exp = min(retry_number - 1, 32)  # avoid float overflow for silly attempt counts
        ceiling = min(self.max_delay, self.base_delay * (2.0**exp))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def parse_retry_after(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, or ``None`` if it did not say (or said garbage).

    Accepts ``retry-after-ms`` (OpenAI), and ``Retry-After`` as delta-seconds
    (fractions tolerated) or as an HTTP-date (RFC 9110 section 10.2.3). Dates
    in the past and negative values mean "now" (``0.0``).
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = math.nan
        if math.isfinite(ms):
            return max(0.0, ms / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse as naive; HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def error_message_from_response(response: httpx.Response, limit: int = 500) -> str:
    """The provider's human-readable error message from an error response.

    Understands Google's ``{"error": {"message", "status"}}`` (sometimes wrapped
    in a list), OpenAI's ``{"error": {"message", "type"}}``, the
    ``{"error": "..."}`` of Ollama/vLLM and ``{"detail": ...}`` of FastAPI
    servers; otherwise falls back to the (truncated) raw body.
    """
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message")
            kind = err.get("status") or err.get("type") or err.get("code")
            if isinstance(msg, str) and msg:
                return f"{msg} ({kind})" if isinstance(kind, str) and kind else msg
        if isinstance(err, str) and err:
            return err
        for key in ("message", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    text = response.text.strip()
    if text:
        return text if len(text) <= limit else text[:limit] + "..."
    return response.reason_phrase or "no error message in response"


# One unique object per running event loop (RunVar values are per loop); used to
# notice that an owned client was created under another loop and must be replaced.
_LOOP_ID: RunVar[object] = RunVar("actorflow_llm_loop_id")


def loop_identity() -> object:
    """An object unique to the running event loop (an owned httpx client is bound to it)."""
    try:
        return _LOOP_ID.get()
    except LookupError:
        ident = object()
        _LOOP_ID.set(ident)
        return ident


@dataclass(frozen=True, slots=True)
class _Failure:
    """A retryable attempt failure: the error, its cause, the server's Retry-After."""

    error: LLMError
    cause: BaseException | None = None
    retry_after: float | None = None


class HttpTransport:
    """POST JSON to one API with timeouts, retries and error mapping.

    ``headers`` are sent with every request (put credentials here, never in the
    URL: httpx error messages and logs may include URLs). Pass ``client`` to
    share a connection pool or install custom transports; a client passed in is
    never closed by :meth:`aclose` and must be used within a single event loop.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        retry: HttpRetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry if retry is not None else HttpRetryPolicy()
        self._headers = {"user-agent": _USER_AGENT, **(headers or {})}
        # Credentials sent in headers (the bearer token, not the word "Bearer"): a
        # provider may echo them in an error body, which must not reach a run's error.
        self._secrets = tuple(
            v.split(" ", 1)[-1] for k, v in self._headers.items()
            if k.lower() != "user-agent" and len(v.split(" ", 1)[-1]) >= 8
        )
        self._external_client = client
        self._client: httpx.AsyncClient | None = None
        self._client_loop: object | None = None
        self._rng = rng if rng is not None else random.Random()

    def _get_client(self) -> httpx.AsyncClient:
        if self._external_client is not None:
            return self._external_client
        loop = loop_identity()
        if self._client is None or self._client_loop is not loop:
            # A client from a previous event loop (e.g. a second anyio.run) holds
            # connections bound to that dead loop; drop it rather than await its
            # close on the wrong loop. Its sockets are released by GC.
            self._client = httpx.AsyncClient(timeout=self.timeout)
            self._client_loop = loop
        return self._client

    def _request_headers(self) -> dict[str, str]:
        """The headers of one request: ours, and the trace context of the calling node's
        span (W3C ``traceparent``), so the provider's side joins the run's trace."""
        headers = dict(self._headers)
        inject_headers(headers)
        return headers

    def _breaker(self) -> CircuitBreaker:
        return circuit_board().breaker(self.provider, self.base_url)

    def _refuse(self, why: OpenCircuit) -> LLMCircuitOpenError:
        return LLMCircuitOpenError(why.message(), provider=self.provider, retry_at=why.retry_at)

    async def post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``base_url + path`` and return the JSON object answered.

        Raises :class:`LLMError` (``retryable`` set as described in the module
        doc) once the request failed for good; :class:`LLMCircuitOpenError` at once
        while the provider's circuit breaker is open.
        """
        with self._breaker().guard(self._refuse, _transient):
            return await self._post_json(path, body)

    async def _post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        url = self.base_url + "/" + path.lstrip("/")
        policy = self.retry
        failure: _Failure | None = None
        for attempt in range(1, policy.max_attempts + 1):
            outcome = await self._attempt(url, body, attempt)
            if not isinstance(outcome, _Failure):
                return outcome
            failure = outcome
            if attempt == policy.max_attempts:
                break
            if failure.retry_after is not None:
                delay = min(failure.retry_after, policy.max_retry_after)
            else:
                delay = policy.backoff(attempt, self._rng)
            logger.warning(
                "LLM %s attempt %d/%d failed (%s); retrying in %.2fs",
                self.provider,
                attempt,
                policy.max_attempts,
                failure.error.reason,
                delay,
            )
            await anyio.sleep(delay)

        assert failure is not None
        last = failure.error
        attempts = policy.max_attempts
        suffix = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
        # Same class as the last error (LLMTimeoutError stays one), with the total count.
        final = type(last)(
            last.reason + suffix,
            provider=self.provider,
            status=last.status,
            retryable=True,
            attempts=attempts,
        )
        raise final from failure.cause

    async def _attempt(
        self, url: str, body: Mapping[str, Any], attempt: int
    ) -> dict[str, Any] | _Failure:
        """One HTTP attempt: the decoded answer, or a retryable failure.

        Non-retryable failures raise :class:`LLMError` directly.
        """
        client = self._get_client()
        response: httpx.Response | None = None
        # move_on_after bounds the whole attempt (connect + upload + the complete
        # body); httpx's own timeout only bounds each socket operation.
        with anyio.move_on_after(self.timeout):
            try:
                response = await client.post(
                    url, json=dict(body), headers=self._request_headers(), timeout=self.timeout
                )
            except httpx.TimeoutException as exc:
                return _Failure(self._timeout_error(attempt), cause=exc)
            except httpx.TransportError as exc:  # refused, reset, DNS, protocol errors
                error = LLMError(
                    f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}",
                    provider=self.provider,
                    retryable=True,
                    attempts=attempt,
                )
                return _Failure(error, cause=exc)
        if response is None:  # the deadline above fired
            return _Failure(self._timeout_error(attempt))

        status = response.status_code
        if 200 <= status < 300:
            return self._decode(response, attempt)
        message = self._scrub(f"HTTP {status}: {error_message_from_response(response)}")
        if not self.retry.is_retryable_status(status):
            raise LLMError(
                message, provider=self.provider, status=status, retryable=False, attempts=attempt
            )
        error = LLMError(
            message, provider=self.provider, status=status, retryable=True, attempts=attempt
        )
        return _Failure(error, retry_after=parse_retry_after(response.headers))

    async def stream_sse(self, path: str, body: Mapping[str, Any],
                         on_data: Callable[[str], None], *,
                         params: Mapping[str, str] | None = None) -> None:
        """POST ``body`` and hand each server-sent event's ``data`` to ``on_data`` as it
        arrives (``text/event-stream``, as Gemini's ``alt=sse`` and OpenAI's
        ``stream: true`` answer).

        Retries like :meth:`post_json` only while nothing has been received (a refused
        connection, a 429 or 5xx before the stream starts); once data flowed, a broken
        stream raises :class:`LLMError` (``retryable=True``) and the caller decides
        (a graph node's retry policy). ``timeout`` bounds each wait for the next bytes,
        not the whole stream, which may legitimately take minutes. The circuit breaker
        applies as to :meth:`post_json`.
        """
        with self._breaker().guard(self._refuse, _transient):
            await self._stream_sse(path, body, on_data, params)

    async def _stream_sse(self, path: str, body: Mapping[str, Any],
                          on_data: Callable[[str], None],
                          params: Mapping[str, str] | None) -> None:
        url = self.base_url + "/" + path.lstrip("/")
        policy = self.retry
        for attempt in range(1, policy.max_attempts + 1):
            started = False

            def deliver(data: str) -> None:
                nonlocal started
                started = True
                on_data(data)

            try:
                await self._stream_once(url, body, params, deliver, attempt)
                return
            except LLMError as exc:
                if started or not exc.retryable or attempt == policy.max_attempts:
                    raise
                delay = policy.backoff(attempt, self._rng)
                logger.warning("LLM %s stream attempt %d/%d failed (%s); retrying in %.2fs",
                               self.provider, attempt, policy.max_attempts, exc.reason, delay)
                await anyio.sleep(delay)

    async def _stream_once(self, url: str, body: Mapping[str, Any],
                           params: Mapping[str, str] | None, on_data: Callable[[str], None],
                           attempt: int) -> None:
        client = self._get_client()
        try:
            async with client.stream("POST", url, json=dict(body), headers=self._request_headers(),
                                     params=params, timeout=self.timeout) as response:
                status = response.status_code
                if not 200 <= status < 300:
                    await response.aread()
                    raise LLMError(
                        self._scrub(f"HTTP {status}: {error_message_from_response(response)}"),
                        provider=self.provider, status=status,
                        retryable=self.retry.is_retryable_status(status), attempts=attempt)
                data: list[str] = []
                async for line in response.aiter_lines():
                    if not line:
                        if data:     # a blank line ends an event
                            on_data("\n".join(data))
                            data = []
                        continue
                    name, _, value = line.partition(":")
                    if name == "data":   # comments (":...") and other fields are skipped
                        data.append(value[1:] if value.startswith(" ") else value)
                if data:
                    on_data("\n".join(data))
        except httpx.TimeoutException as exc:
            raise LLMTimeoutError(f"the stream stalled for more than {self.timeout:g}s",
                                  provider=self.provider, retryable=True,
                                  attempts=attempt) from exc
        except httpx.TransportError as exc:  # refused, reset, or cut off mid-body
            raise LLMError(self._scrub(f"stream from {self.base_url} broke off: "
                                       f"{type(exc).__name__}: {exc}"),
                           provider=self.provider, retryable=True, attempts=attempt) from exc

    def _scrub(self, text: str) -> str:
        """``text`` with this transport's credentials replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _timeout_error(self, attempt: int) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"no complete response within {self.timeout:g}s",
            provider=self.provider,
            retryable=True,
            attempts=attempt,
        )

    def _decode(self, response: httpx.Response, attempt: int) -> dict[str, Any]:
        try:
            data: Any = response.json()
        except ValueError as exc:
            raise LLMError(
                self._scrub(f"HTTP {response.status_code} with a body that is not JSON: "
                            f"{response.text[:200]!r}"),
                provider=self.provider,
                status=response.status_code,
                retryable=False,
                attempts=attempt,
            ) from exc
        if not isinstance(data, dict):
            raise LLMError(
                f"expected a JSON object, got {type(data).__name__}",
                provider=self.provider,
                status=response.status_code,
                retryable=False,
                attempts=attempt,
            )
        return data

    async def aclose(self) -> None:
        """Close the owned client (a client passed in stays open)."""
        client, self._client = self._client, None
        if client is not None and self._client_loop is loop_identity():
            await client.aclose()
        self._client_loop = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _transient(exc: Exception) -> bool:
    """A failure that says the provider is unwell (counted by its circuit breaker)."""
    return isinstance(exc, LLMError) and exc.retryable


class HttpProviderBase(abc.ABC):
    """Base of the HTTP providers: owns a transport and closes it.

    ``async with provider:`` (or ``await provider.aclose()``) releases pooled
    connections; forgetting to is harmless beyond keeping sockets until GC.
    Subclasses satisfy :class:`~nodes.llm.base.LLMProvider`.
    """

    name: str
    model: str
    _transport: HttpTransport

    @abc.abstractmethod
    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Answer ``request`` (see :class:`~nodes.llm.base.LLMProvider`)."""

    @property
    def transport(self) -> HttpTransport:
        """The transport (base URL, timeout, retry policy) this provider sends through."""
        return self._transport

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
