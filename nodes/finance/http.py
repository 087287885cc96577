"""GET JSON from a market-data API: timeouts, retries, error mapping, keys kept secret.

Shared by the Finnhub and Alpha Vantage providers, which only build query
parameters and parse answers. The retry policy and ``Retry-After`` parsing are
the LLM layer's (:class:`nodes.llm.HttpRetryPolicy`): 429 and 5xx answers, timeouts
and connection errors are retried with backoff; other 4xx fail at once with the
provider's own message.

API keys never reach a log line or an error message: a header key is invisible
to httpx's request log, and a key that must travel in the query string (Alpha
Vantage's ``apikey``) is added by :class:`_KeyParamTransport` *below* httpx's
client, so the URL that httpx logs, and that a response's ``request`` carries,
has no key in it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

from nodes.circuit import OpenCircuit, circuit_board
from nodes.llm.http import HttpRetryPolicy, loop_identity, parse_retry_after
from runtime.tracing import inject_headers

from .errors import MalformedResponse, MarketCircuitOpen, MarketDataError, RateLimited

__all__ = ["MarketHttp"]

logger = logging.getLogger("actorflow.finance")


class _KeyParamTransport(httpx.AsyncBaseTransport):
    """Adds ``param=key`` to the query of each request it sends, on a copy of the request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, param: str, key: str) -> None:
        self._inner = inner
        self._param = param
        self._key = key

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        keyed = httpx.Request(request.method, request.url.copy_add_param(self._param, self._key),
                              headers=request.headers, stream=request.stream,
                              extensions=request.extensions)
        return await self._inner.handle_async_request(keyed)

    async def aclose(self) -> None:
        await self._inner.aclose()


class MarketHttp:
    """GET ``base_url + path`` with query ``params``; returns the decoded JSON.

    ``headers`` go with every request (a header key stays out of logs);
    ``key_param`` = ``(name, key)`` puts a key into the query string invisibly
    (see the module doc).
    """

    def __init__(self, *, provider: str, base_url: str, headers: Mapping[str, str] | None = None,
                 key_param: tuple[str, str] | None = None, timeout: float = 30.0,
                 retry: HttpRetryPolicy | None = None, rng: random.Random | None = None) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry if retry is not None else HttpRetryPolicy()
        self._headers = {"user-agent": "actorflow-finance/0.1", "accept": "application/json",
                         **(headers or {})}
        self._key_param = key_param
        # What must never reach an error (a run's error is shown to API clients): the
        # key, and the headers given (a token), as the provider may echo the request.
        self._secrets = tuple(s for s in (*(key_param[1:] if key_param else ()),
                                          *(headers or {}).values()) if len(s) >= 4)
        self._rng = rng if rng is not None else random.Random()
        self._client: httpx.AsyncClient | None = None
        self._client_loop: object | None = None

    def scrub(self, text: str) -> str:
        """``text`` with this provider's credentials replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _get_client(self) -> httpx.AsyncClient:
        loop = loop_identity()
        if self._client is None or self._client_loop is not loop:
            # A client of an earlier event loop holds connections bound to it: drop it.
            transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport()
            if self._key_param is not None:
                transport = _KeyParamTransport(transport, *self._key_param)
            self._client = httpx.AsyncClient(timeout=self.timeout, transport=transport)
            self._client_loop = loop
        return self._client

    async def get_json(self, path: str, params: Mapping[str, str]) -> Any:
        """The JSON answer; raises MarketDataError (RateLimited after the last 429;
        MarketCircuitOpen at once while the provider's circuit breaker is open:
        :mod:`nodes.circuit`)."""
        breaker = circuit_board().breaker(self.provider, self.base_url)
        with breaker.guard(self._refuse, _transient):
            return await self._get_json(path, params)

    def _refuse(self, why: OpenCircuit) -> MarketCircuitOpen:
        return MarketCircuitOpen(why.message(), provider=self.provider, retry_at=why.retry_at)

    async def _get_json(self, path: str, params: Mapping[str, str]) -> Any:
        policy = self.retry
        last: MarketDataError | None = None
        for attempt in range(1, policy.max_attempts + 1):
            try:
                return await self._attempt(path, params)
            except MarketDataError as exc:
                if not exc.retryable or attempt == policy.max_attempts:
                    raise
                last = exc
                wait = exc.retry_after if isinstance(exc, RateLimited) else None
                delay = (min(wait, policy.max_retry_after) if wait is not None
                         else policy.backoff(attempt, self._rng))
                logger.warning("%s %s attempt %d/%d failed (%s); retrying in %.2fs",
                               self.provider, path, attempt, policy.max_attempts, exc.reason,
                               delay)
                await anyio.sleep(delay)
        assert last is not None  # pragma: no cover - the loop returns or raises
        raise last

    async def _attempt(self, path: str, params: Mapping[str, str]) -> Any:
        url = self.base_url + "/" + path.lstrip("/")
        response: httpx.Response | None = None
        # move_on_after bounds the whole attempt; httpx's timeout is per socket operation.
        with anyio.move_on_after(self.timeout):
            try:
                headers = dict(self._headers)
                inject_headers(headers)   # the calling node's trace context (traceparent)
                response = await self._get_client().get(url, params=dict(params),
                                                        headers=headers)
            except httpx.TimeoutException as exc:
                raise MarketDataError(f"GET {path}: no answer within {self.timeout:g}s",
                                      provider=self.provider, retryable=True) from exc
            except httpx.TransportError as exc:
                raise MarketDataError(
                    f"cannot reach {self.base_url}: {type(exc).__name__}",
                    provider=self.provider, retryable=True) from exc
        if response is None:
            raise MarketDataError(f"GET {path}: no complete answer within {self.timeout:g}s",
                                  provider=self.provider, retryable=True)
        status = response.status_code
        if status == 429:
            raise RateLimited(f"GET {path}: HTTP 429 rate limit: "
                              f"{self.scrub(_message(response))}",
                              provider=self.provider, status=status,
                              retry_after=parse_retry_after(response.headers))
        if status >= 400:
            raise MarketDataError(f"GET {path}: HTTP {status}: {self.scrub(_message(response))}",
                                  provider=self.provider, status=status,
                                  retryable=status >= 500)
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponse(
                f"GET {path}: HTTP {status} with a body that is not JSON: "
                f"{self.scrub(response.text[:120])!r}", provider=self.provider,
                status=status) from exc

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._client_loop is loop_identity():
            await client.aclose()
        self._client_loop = None


def _transient(exc: Exception) -> bool:
    """A failure that says the provider is unwell (counted by its circuit breaker)."""
    return isinstance(exc, MarketDataError) and exc.retryable


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "message", "Error Message", "Information", "Note"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    return response.text.strip()[:300] or response.reason_phrase
