"""Server settings: a pydantic model read from ``ACTORFLOW_*`` environment variables.

Every field can be set by an environment variable named ``ACTORFLOW_`` plus the
field name in upper case (``ACTORFLOW_DATABASE_URL``, ``ACTORFLOW_PORT``...); CLI
flags override the environment::

    settings = Settings.from_env(port=9000)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from runtime.lease import ClusterSettings
from runtime.store import Store, open_store

__all__ = ["ENV_PREFIX", "AddressUnavailableError", "Settings", "SettingsError",
           "TlsSettingsError", "own_runs_only"]

ENV_PREFIX = "ACTORFLOW_"


class SettingsError(ValueError):
    """A setting (from a flag or an environment variable) is invalid."""


class AddressUnavailableError(SettingsError):
    """``serve`` cannot listen where ``host`` and ``port`` say (another process listens
    there, the host is not this machine's, the port needs privileges)."""


class TlsSettingsError(SettingsError):
    """``serve`` cannot use its TLS certificate and key (``certfile``, ``keyfile``)."""


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
    #: "json": one JSON object per log line, with run_id/node/trace_id where known.
    log_format: Literal["text", "json"] = "text"
    #: Export traces over OTLP/HTTP to this collector (e.g. http://collector:4318); unset,
    #: the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables decide (api.telemetry).
    otlp_endpoint: str | None = None
    #: Write one access-log line per request (off by default: it costs throughput).
    access_log: bool = False
    #: Seconds Hypercorn waits for open requests and sockets after SIGTERM.
    graceful_timeout: float = Field(10.0, ge=0)
    #: Events a WebSocket client may fall behind before it is dropped as lagged.
    ws_buffer: int = Field(1024, ge=1)
    #: Seconds one WebSocket send may block (a client not reading) before it is dropped.
    ws_send_timeout: float = Field(10.0, gt=0)
    #: Largest WebSocket message; a bigger event is sent as a stub saying so.
    ws_max_event_bytes: int = Field(1024 * 1024, ge=1024)
    #: Longest wait, in seconds, of ``/runs/{id}/wait`` and of a run started with
    #: ``"wait": true`` (its ``wait_timeout`` is capped by it).
    max_wait_seconds: float = Field(300.0, gt=0)
    #: Trust API clients with Python import paths in graphs (``fn``, ``state_schema``,
    #: ``retry_on`` "module:qualname"): importing runs code. Off, nothing a request
    #: names is imported (see runtime.importpath).
    allow_imports: bool = False
    #: Finished runs kept in memory (older ones are served from the database).
    keep_finished_runs: int = Field(1000, ge=0)
    #: ``actorflow serve`` only: the garbage collector's first threshold in the server
    #: process (0 keeps Python's 700). An app embedding ``create_app`` keeps its own.
    gc_threshold: int = Field(50_000, ge=0)
    #: Share the database's runs with other processes (queue, leases, takeover):
    #: "auto" is on for PostgreSQL, off for SQLite (one executor per file) and memory.
    cluster: Literal["auto", "on", "off"] = "auto"
    #: Claim and execute runs (off: serve the API and queue runs for the workers).
    execute: bool = True
    #: Runs this process executes at once, in a cluster.
    concurrency: int = Field(100, ge=1)
    #: Seconds a lease holds without renewal: about the takeover time after a crash.
    lease_seconds: float = Field(8.0, gt=0)
    #: Seconds between lease renewals (below ``lease_seconds``).
    heartbeat_seconds: float = Field(2.0, gt=0)
    #: Seconds between looks for claimable runs when no notification wakes us.
    poll_seconds: float = Field(1.0, gt=0)
    #: Cluster-wide limits of runs executing at once per graph, ``name=N,name=N`` (runs
    #: over a limit stay queued). Give every process of the cluster the same value.
    graph_limits: str = ""
    #: Without a cluster: seconds between looks for runs whose process on this host
    #: died (an ``actorflow run`` killed with ``kill -9``); they resume here from their
    #: last checkpoint. 0: only when the process starts.
    orphan_check_seconds: float = Field(5.0, ge=0)
    #: What a committed step survives: "process" (a crash of this process; the default)
    #: or "power" (also power loss: an fsync per group commit). SQL stores only.
    durability: Literal["process", "power"] = "process"

    # -- bounds on what one request may ask (api/bounds.py) ------------------------------
    #: Nodes and edges one graph may have.
    max_graph_nodes: int = Field(500, ge=1)
    max_graph_edges: int = Field(2000, ge=1)
    #: Characters and nesting depth of one edge condition expression.
    max_expression_chars: int = Field(500, ge=1)
    max_expression_depth: int = Field(12, ge=1)
    #: Bytes of a run's initial state (as compact JSON).
    max_initial_state_bytes: int = Field(256 * 1024, ge=1)
    #: Largest ``max_steps`` a run may ask for (a run asking none gets the graph's).
    max_steps_cap: int = Field(100_000, ge=1)
    #: Bytes a run's state data may grow to (as compact JSON), checked after every
    #: node's write; past it only that run fails, naming the node (0: unbounded).
    max_state_bytes: int = Field(8 * 1024 * 1024, ge=0)
    #: Bytes of one event a node publishes (``ctx.log``, ``ctx.emit``, ``ctx.token``);
    #: past it the node gets EventTooLargeError (uncaught, the run fails) (0: unbounded).
    max_event_bytes: int = Field(1024 * 1024, ge=0)
    #: Seconds a run may take when it asks no ``timeout`` (0: unbounded).
    default_run_timeout: float = Field(3600.0, ge=0)
    #: Runs of one tenant executing at once, counted in the database (0: no limit).
    max_running_runs_per_tenant: int = Field(100, ge=0)
    #: Runs of one tenant queued (pending: not started yet, waiting for a slot), counted
    #: in the database (0: no limit).
    max_queued_runs_per_tenant: int = Field(1000, ge=0)

    # -- the guarded door (api/auth) ------------------------------------------------------
    #: Who may call the API: nobody is asked ("none", loopback only unless ``insecure``),
    #: API keys ("keys"), JWT bearer tokens ("jwt"), or a Python handler ("handler").
    auth: Literal["none", "keys", "jwt", "handler"] = "none"
    #: Serve without authentication on a non-loopback address anyway.
    insecure: bool = False
    #: HS256 secret for ``auth=jwt`` (never logged).
    jwt_secret: SecretStr | None = None
    #: JWKS URL for RS256/ES256 tokens, fetched and cached ``jwks_cache_seconds``.
    jwt_jwks_url: str | None = None
    #: Comma-separated accepted algorithms (default HS256 with a secret, RS256,ES256 with JWKS).
    jwt_algorithms: str = ""
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    #: Claims naming the principal's tenant and scopes (space-separated string or list).
    jwt_tenant_claim: str = "tenant"
    jwt_scopes_claim: str = "scope"
    jwks_cache_seconds: float = Field(300.0, ge=0)
    #: Shortest time between two JWKS fetches caused by tokens with an unknown ``kid``.
    jwks_refetch_seconds: float = Field(10.0, ge=0)
    #: ``module:function`` for ``auth=handler``: gets an AuthRequest, returns a Principal.
    auth_handler: str | None = None
    #: ``module:object`` with resource rules (``on_create``/``can_read``) for all modes.
    auth_rules: str | None = None
    #: Seconds a WebSocket ticket (``POST /api/v1/ws-tickets``) stays valid; single use.
    ws_ticket_seconds: float = Field(30.0, gt=0, le=600)
    #: Requests per second per key (or subject) and per client IP; 0 turns one off.
    rate_per_key: float = Field(50.0, ge=0)
    rate_per_ip: float = Field(100.0, ge=0)
    #: Requests a client may send at once above its rate (token-bucket size).
    rate_burst: int = Field(100, ge=1)
    #: WebSocket feeds one key (or subject) may hold open at once.
    max_ws_per_key: int = Field(16, ge=1)
    #: Days audit entries are kept (pruned when the server starts); 0 keeps them forever.
    audit_retention_days: float = Field(90.0, ge=0)
    #: Comma-separated origins allowed by CORS (empty: no cross-origin browser access).
    cors_origins: str = ""
    #: Comma-separated host names accepted in ``Host`` and WebSocket ``Origin``
    #: (empty: the loopback names when serving on loopback, else the bound host).
    allowed_hosts: str = ""
    #: TLS: certificate and key files (PEM) for Hypercorn.
    certfile: str | None = None
    keyfile: str | None = None

    def csv(self, name: str) -> list[str]:
        """A comma-separated setting as a list (blank items dropped)."""
        return [item.strip() for item in str(getattr(self, name) or "").split(",")
                if item.strip()]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``ACTORFLOW_*`` variables, then ``overrides`` (None values ignored).

        Raises SettingsError naming the variable or flag that is wrong.
        """
        env = os.environ if environ is None else environ
        _refuse_retired(env)
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

    def open_store(self) -> Store:
        """The store of ``database_url`` (not opened), at ``durability`` when it is a
        SQL database (memory keeps nothing past the process, whatever the level)."""
        if self.database_url.startswith("memory"):
            return open_store(self.database_url)
        return open_store(self.database_url, durability=self.durability)

    def orphan_check(self) -> float | None:
        """The runtime's ``orphan_check`` (None: only at start)."""
        return self.orphan_check_seconds or None

    def cluster_settings(self) -> ClusterSettings | None:
        """The runtime's cluster settings, or None for a process alone on its database."""
        on = (self.cluster == "on" or self.cluster == "auto"
              and self.database_url.startswith(("postgresql", "postgres:")))
        if not on:
            return None
        try:
            return ClusterSettings(execute=self.execute, concurrency=self.concurrency,
                                   lease_seconds=self.lease_seconds,
                                   heartbeat_seconds=self.heartbeat_seconds,
                                   poll_seconds=self.poll_seconds,
                                   graph_limits=parse_graph_limits(self.graph_limits))
        except ValueError as exc:
            raise SettingsError(f"invalid settings: {exc}") from exc


def own_runs_only(cluster: ClusterSettings | None) -> ClusterSettings | None:
    """The cluster settings of a process that executes only the runs it starts or
    resumes itself (``actorflow run``, ``actorflow resume``): each under a lease, as a
    server's, so that no other process of the cluster takes it while it executes (and
    one does once this process is gone), and never claiming another's runs."""
    return None if cluster is None else dataclasses.replace(cluster, execute=False)


def parse_graph_limits(text: str) -> dict[str, int]:
    """``"name=N,name=N"`` (ACTORFLOW_GRAPH_LIMITS, --graph-limits) as a dict."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, eq, most = item.rpartition("=")
        if not eq or not name.strip() or not most.strip().isdigit():
            raise ValueError(
                f"graph_limits: {item!r} is not NAME=N (a graph name, '=', a whole number); "
                "write ACTORFLOW_GRAPH_LIMITS or --graph-limits as name=N,name=N")
        limits[name.strip()] = int(most)
    return limits


# Variables earlier versions read. Ignoring one would leave an operator believing a limit
# holds that no longer does, so a process that finds one refuses to start and says what
# replaced it.
RETIRED = {
    "MAX_RUNS_PER_TENANT": (
        "it was split in two: set ACTORFLOW_MAX_RUNNING_RUNS_PER_TENANT (runs executing at "
        "once, default 100) and ACTORFLOW_MAX_QUEUED_RUNS_PER_TENANT (runs waiting to start, "
        "default 1000), then unset it"),
}


def _refuse_retired(env: Mapping[str, str]) -> None:
    for name, instead in RETIRED.items():
        if env.get(ENV_PREFIX + name, "") != "":
            raise SettingsError(f"{ENV_PREFIX}{name} is no longer read: {instead}")


def _parse_env(name: str, raw: str) -> Any:
    field = Settings.model_fields[name]
    if field.annotation is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if name == "max_concurrent_runs" and raw.strip().lower() in {"none", "0"}:
        return None
    return raw.strip()
