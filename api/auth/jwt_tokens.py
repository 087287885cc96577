"""JWT bearer tokens: HS256 with a shared secret, or RS256/ES256 against a JWKS URL.

``exp`` is required; ``nbf``, ``aud`` and ``iss`` are checked (audience and issuer when
configured; a token carrying an ``aud`` is refused when none is configured). The JWKS
is fetched with httpx (so it works on asyncio and trio), cached for
``jwks_cache_seconds``, and fetched again early when a token names an unknown ``kid``
(key rotation), at most once per ``jwks_refetch_seconds`` so bad tokens cannot hammer
the identity provider.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from ..settings import Settings
from .principal import Principal, parse_scopes

__all__ = ["JwtVerifier", "TokenRefused"]

JWKS_TIMEOUT = 5.0


class TokenRefused(Exception):
    """The token is not acceptable; the message says why (safe to show the caller)."""


class JwtVerifier:
    """Checks tokens against the configured secret or JWKS; returns their Principal."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._secret = (settings.jwt_secret.get_secret_value()
                        if settings.jwt_secret is not None else None)
        default = ["HS256"] if self._secret is not None else ["RS256", "ES256"]
        self.algorithms = settings.csv("jwt_algorithms") or default
        self._jwks: jwt.PyJWKSet | None = None
        self._fetched_at = float("-inf")
        #: JWKS fetches made (tests and diagnostics).
        self.fetches = 0

    async def verify(self, token: str) -> Principal:
        key = await self._key_for(token)
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=self.algorithms, audience=s.jwt_audience,
                issuer=s.jwt_issuer, options={"require": ["exp"]})
        except jwt.InvalidTokenError as exc:
            raise TokenRefused(f"the bearer token is not valid: {exc}") from exc
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        s = self.settings
        tenant = claims.get(s.jwt_tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise TokenRefused(f"the token has no {s.jwt_tenant_claim!r} claim naming its "
                               "tenant")
        raw = claims.get(s.jwt_scopes_claim)
        if raw is not None and not isinstance(raw, str | list):
            raise TokenRefused(f"the token's {s.jwt_scopes_claim!r} claim is not a string "
                               "or list")
        try:
            scopes = parse_scopes(raw)
        except ValueError as exc:
            raise TokenRefused(f"the token's {s.jwt_scopes_claim!r} claim: {exc}") from exc
        return Principal(subject=str(claims.get("sub") or "unknown"), tenant=tenant,
                         scopes=scopes, kind="jwt")

    async def _key_for(self, token: str) -> Any:
        if self._secret is not None:
            return self._secret
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenRefused(f"the bearer token is not a JWT: {exc}") from exc
        jwks = await self._keyset(refresh=False)
        found = _find(jwks, kid)
        if found is None and (time.monotonic() - self._fetched_at
                              >= self.settings.jwks_refetch_seconds):
            found = _find(await self._keyset(refresh=True), kid)
        if found is None:
            raise TokenRefused(f"no key with id {kid!r} in the JWKS")
        return found

    async def _keyset(self, *, refresh: bool) -> jwt.PyJWKSet | None:
        fresh = time.monotonic() - self._fetched_at < self.settings.jwks_cache_seconds
        if self._jwks is not None and fresh and not refresh:
            return self._jwks
        url = self.settings.jwt_jwks_url
        assert url is not None, "checked by check_auth_settings"
        self._fetched_at = time.monotonic()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=JWKS_TIMEOUT) as client:
                response = await client.get(url)
                response.raise_for_status()
                self._jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            if self._jwks is None:  # nothing cached to fall back on
                raise TokenRefused(f"the JWKS could not be fetched ({type(exc).__name__})"
                                   ) from exc
        return self._jwks


def _find(jwks: jwt.PyJWKSet | None, kid: str | None) -> Any:
    if jwks is None:
        return None
    for k in jwks.keys:
        if kid is None or k.key_id == kid:
            return k.key
    return None
