"""Server settings: a pydantic model read from ``ACTORFLOW_*`` environment variables.

Every field can be set by an environment variable named ``ACTORFLOW_`` plus the
field name in upper case (``ACTORFLOW_DATABASE_URL``, ``ACTORFLOW_PORT``...); CLI
flags override the environment::

    settings = Settings.from_env(port=9000)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["ENV_PREFIX", "Settings", "SettingsError"]

ENV_PREFIX = "ACTORFLOW_"


class SettingsError(ValueError):
    """A setting (from a flag or an environment variable) is invalid."""


class Settings(BaseModel):
    """Everything the HTTP server needs to know, with production-safe defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field("sqlite:///actorflow.db",
                              description="memory://, sqlite:///file.db or postgresql://...")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    backend: Literal["asyncio", "trio"] = "asyncio"
    #: Largest request body accepted (413 above it).
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    #: Runs executing at once; further runs wait their turn (None: no limit).
    max_concurrent_runs: int | None = Field(None, ge=1)
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    #: Write one access-log line per request (off by default: it costs throughput).
    access_log: bool = False
    #: Seconds Hypercorn waits for open requests and sockets after SIGTERM.
    graceful_timeout: float = Field(10.0, ge=0)
    #: Events a WebSocket client may fall behind before it is dropped as lagged.
    ws_buffer: int = Field(1024, ge=1)
    #: Seconds one WebSocket send may block (a client not reading) before it is dropped.
    ws_send_timeout: float = Field(10.0, gt=0)
    #: Longest ``/runs/{id}/wait`` long-poll, in seconds.
    max_wait_seconds: float = Field(300.0, gt=0)
    #: Trust API clients with Python import paths in graphs (``fn``, ``state_schema``,
    #: ``retry_on`` "module:qualname"): importing runs code. Off, nothing a request
    #: names is imported (see runtime.importpath).
    allow_imports: bool = False
    #: Finished runs kept in memory (older ones are served from the database).
    keep_finished_runs: int = Field(1000, ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``ACTORFLOW_*`` variables, then ``overrides`` (None values ignored).

        Raises SettingsError naming the variable or flag that is wrong.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = _parse_env(name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'.'.join(str(p) for p in e['loc']).upper()} "
                f"(or its flag): {e['msg']}" for e in exc.errors())
            raise SettingsError(f"invalid settings: {problems}") from exc


def _parse_env(name: str, raw: str) -> Any:
    field = Settings.model_fields[name]
    if field.annotation is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if name == "max_concurrent_runs" and raw.strip().lower() in {"none", "0"}:
        return None
    return raw.strip()
