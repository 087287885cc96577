"""Authentication: from a request's credentials to a :class:`Principal`, by the mode
the server was started with. Every refusal is a 401 that says what to send, never
which part of a credential was wrong beyond what the caller can fix."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import cast

from runtime.errors import GraphSerializationError
from runtime.importpath import load
from runtime.store import AccessStore

from ..errors import ApiError
from ..settings import Settings, SettingsError
from .handler import AuthRequest, HandlerAuth
from .jwt_tokens import JwtVerifier, TokenRefused
from .keys import KeyRing
from .principal import LOCAL, Principal
from .tickets import TicketBook

__all__ = ["Gate", "bearer", "check_auth_settings"]

log = logging.getLogger("actorflow.auth")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="actorflow"'}


def check_auth_settings(settings: Settings) -> None:
    """Refuse a configuration that cannot authenticate anyone (SettingsError says why)."""
    if settings.auth == "jwt" and settings.jwt_secret is None and not settings.jwt_jwks_url:
        raise SettingsError("--auth jwt needs --jwt-secret (HS256) or --jwks-url "
                            "(RS256/ES256): ACTORFLOW_JWT_SECRET or ACTORFLOW_JWT_JWKS_URL")
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    if settings.auth == "jwt" and secret is not None and len(secret.encode()) < 32:
        # RFC 7518 3.2: an HS256 key shorter than the hash is guessable offline.
        raise SettingsError("the JWT secret must be at least 32 bytes (RFC 7518 3.2); "
                            "generate one with `python -c 'import secrets; "
                            "print(secrets.token_urlsafe(32))'`")
    if settings.auth == "handler" and not settings.auth_handler:
        raise SettingsError("--auth handler needs --auth-handler module:function "
                            "(ACTORFLOW_AUTH_HANDLER)")
    for name in ("auth_handler", "auth_rules"):
        path = getattr(settings, name)
        if path:
            try:
                load(path, name)
            except GraphSerializationError as exc:
                raise SettingsError(f"ACTORFLOW_{name.upper()} (or its flag): {exc}; give it "
                                    "as module:attribute, importable by the server") from exc
    if bool(settings.certfile) != bool(settings.keyfile):
        raise SettingsError("TLS needs both --certfile and --keyfile")


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header."""
    value = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


class Gate:
    """Turns credentials into a Principal for the configured mode."""

    def __init__(self, settings: Settings, store: Callable[[], object]) -> None:
        check_auth_settings(settings)
        self.mode = settings.auth
        self._store = store
        self.tickets = TicketBook(settings.ws_ticket_seconds)
        self._jwt = JwtVerifier(settings) if settings.auth == "jwt" else None
        self._handler = (HandlerAuth(settings.auth_handler)
                         if settings.auth == "handler" and settings.auth_handler else None)

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    def keys(self) -> KeyRing:
        return KeyRing(cast(AccessStore, self._store()))

    async def authenticate(self, request: AuthRequest, *, ticket: str | None = None
                           ) -> Principal:
        """The caller's principal; raises a 401 ApiError without usable credentials."""
        if not self.enabled:
            return LOCAL
        if ticket is not None:
            found = self.tickets.redeem(ticket)
            if found is None:
                raise unauthorized("the WebSocket ticket is unknown, used or expired; get a "
                                   "new one from POST /api/v1/ws-tickets")
            if found.key_id is not None and not await self.keys().in_force(found.key_id):
                # Issued before its key was revoked: the key opens nothing now.
                raise unauthorized("the API key this ticket was issued to has been revoked")
            return found
        if self._handler is not None:
            return await self._by_handler(request)
        token = bearer(request.headers)
        if token is None:
            raise unauthorized("this server needs authentication: send "
                               "'Authorization: Bearer <key or token>'")
        if self._jwt is not None:
            try:
                return await self._jwt.verify(token)
            except TokenRefused as exc:
                raise unauthorized(str(exc)) from None
        principal = await self.keys().verify(token)
        if principal is None:
            raise unauthorized("the API key is unknown, revoked or malformed")
        return principal

    async def _by_handler(self, request: AuthRequest) -> Principal:
        assert self._handler is not None
        try:
            principal = await self._handler.verify(request)
        except Exception:
            # The handler's failure refuses the request (never lets it through); what it
            # raised goes to the log, not to the caller.
            log.exception("auth handler %s failed", self._handler.path)
            raise unauthorized("the authentication handler failed; see the server log"
                               ) from None
        if principal is None:
            raise unauthorized("the authentication handler refused this request")
        return principal
