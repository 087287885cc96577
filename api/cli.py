"""The ``actorflow`` command.

::

    actorflow serve [--host H] [--port P] [--database-url URL] [--backend asyncio|trio]
    actorflow run GRAPH.json|NAME [--input JSON|@file.json] [--timeout S]
    actorflow graphs | runs [--status S] [--graph ID] | tools      [--json]
    actorflow resume RUN_ID --answer ANSWER [--interrupt-id ID] [--server URL]
    actorflow history RUN_ID [--step N] [--json]

Every option also reads an ``ACTORFLOW_*`` environment variable (``--database-url``
is ``ACTORFLOW_DATABASE_URL``); a flag wins over the variable. ``run`` and ``resume``
print the run's log on stderr as it happens and its outcome as JSON on stdout; their
exit codes are in :mod:`api.cli_report`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .cli_report import EXIT_CODES_HELP, ExitCode
from .settings import Settings, SettingsError, own_runs_only

if TYPE_CHECKING:
    from runtime.store import Store

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actorflow", description="actorflow: workflow graphs as actor runs on anyio",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database-url", help="memory://, sqlite:///file.db or postgresql://..."
                       " (ACTORFLOW_DATABASE_URL; default sqlite:///actorflow.db)")
        p.add_argument("--backend", choices=["asyncio", "trio"],
                       help="event loop (ACTORFLOW_BACKEND; default asyncio)")
        p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
        p.add_argument("--log-format", choices=["text", "json"],
                       help="json: one JSON object per line (ACTORFLOW_LOG_FORMAT; default text)")

    serve = sub.add_parser("serve", help="serve the HTTP API and WebSocket logs")
    common(serve)
    serve.add_argument("--host", help="ACTORFLOW_HOST (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="ACTORFLOW_PORT (default 8000)")
    serve.add_argument("--max-body-bytes", type=int, help="ACTORFLOW_MAX_BODY_BYTES")
    serve.add_argument("--max-concurrent-runs", type=int, help="ACTORFLOW_MAX_CONCURRENT_RUNS")
    serve.add_argument("--access-log", action="store_true", default=None)
    serve.add_argument("--auth", choices=["none", "keys", "jwt", "handler"],
                       help="who may call the API (ACTORFLOW_AUTH; default none: loopback only)")
    serve.add_argument("--insecure", action="store_true", default=None,
                       help="serve without authentication on a non-loopback address anyway")
    serve.add_argument("--jwt-secret", help="HS256 secret (prefer ACTORFLOW_JWT_SECRET: "
                       "flags show in the process list)")
    serve.add_argument("--jwks-url", dest="jwt_jwks_url", help="JWKS URL for RS256/ES256 tokens")
    serve.add_argument("--jwt-audience", help="required 'aud' claim")
    serve.add_argument("--jwt-issuer", help="required 'iss' claim")
    serve.add_argument("--auth-handler", help="module:function for --auth handler")
    serve.add_argument("--cors-origins", help="comma-separated origins allowed by CORS")
    serve.add_argument("--allowed-hosts", help="comma-separated names accepted in Host")
    serve.add_argument("--certfile", help="TLS certificate (PEM)")
    serve.add_argument("--keyfile", help="TLS private key (PEM)")

    keys = sub.add_parser("keys", help="create, list, revoke and rotate API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="make a key and print it (this once)")
    create.add_argument("--name", required=True)
    create.add_argument("--tenant", default="default")
    create.add_argument("--scopes", required=True,
                        help="comma-separated: graphs:read,graphs:write,runs:read,runs:write,"
                        "runs:resume,admin (or *)")
    listing = keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--tenant")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = keys_sub.add_parser("revoke", help="revoke a key now")
    revoke.add_argument("key_id")
    rotate = keys_sub.add_parser("rotate", help="replace a key; print the new one")
    rotate.add_argument("key_id")
    rotate.add_argument("--grace", type=float, default=0.0,
                        help="seconds the old key keeps working")
    for p in (create, listing, revoke, rotate):
        common(p)

    def cluster(p: argparse.ArgumentParser) -> None:
        p.add_argument("--otlp-endpoint",
                       help="export traces over OTLP/HTTP to this collector, e.g. "
                       "http://127.0.0.1:4318 (ACTORFLOW_OTLP_ENDPOINT; default: the "
                       "OTEL_EXPORTER_OTLP_ENDPOINT variable, else no export)")
        p.add_argument("--concurrency", type=int,
                       help="runs this process executes at once (ACTORFLOW_CONCURRENCY; "
                       "default 100)")
        p.add_argument("--cluster", choices=["auto", "on", "off"],
                       help="share the database's runs with other processes (ACTORFLOW_"
                       "CLUSTER; default auto: on for PostgreSQL)")
        p.add_argument("--lease-seconds", type=float,
                       help="a crashed process's runs are taken over after about this long "
                       "(ACTORFLOW_LEASE_SECONDS; default 8)")
        p.add_argument("--heartbeat-seconds", type=float,
                       help="lease renewal period (ACTORFLOW_HEARTBEAT_SECONDS; default 2)")
        p.add_argument("--graph-limits", metavar="NAME=N[,NAME=N...]",
                       help="most runs of each named graph executing at once in the whole "
                       "cluster; more stay queued (ACTORFLOW_GRAPH_LIMITS; same on every "
                       "process)")
        p.add_argument("--durability", choices=["process", "power"],
                       help="what a committed step survives (ACTORFLOW_DURABILITY; default "
                       "process: a crash of this process; power: also power loss)")

    cluster(serve)
    serve.add_argument("--no-execute", dest="execute", action="store_false", default=None,
                       help="serve the API only: queue runs for the workers, claim none")
    worker = sub.add_parser("worker", help="execute queued runs of the database (no HTTP); "
                            "SIGTERM hands its runs back at once")
    common(worker)
    cluster(worker)

    run = sub.add_parser(
        "run", help="run a graph here, store the run, print its log and outcome",
        description="Run a graph in this process. The run is stored in --database-url\n"
        "(default sqlite:///actorflow.db in the current directory), where\n"
        "`actorflow history` and `actorflow resume` find it. The log goes to stderr as\n"
        "it happens, the outcome (run_id, status, state, error, interrupts) to stdout\n"
        "as JSON.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    common(run)
    run.add_argument("graph", help="a graph JSON file, or a stored graph's id or name")
    run.add_argument("--input", default="{}", help="initial state: JSON, or @file.json")
    run.add_argument("--timeout", type=float, help="seconds before the run fails")

    graphs = sub.add_parser("graphs", help="list stored graphs")
    common(graphs)
    runs = sub.add_parser("runs", help="list runs")
    common(runs)
    runs.add_argument("--status", choices=["pending", "running", "waiting", "completed",
                                           "failed", "cancelled", "interrupted"],
                      help="interrupted: running or pending, and the process that ran it "
                      "is gone (killed); serve or worker resumes it")
    runs.add_argument("--graph", help="graph id")
    for p in (graphs, runs):
        p.add_argument("--limit", type=int, default=50)
        p.add_argument("--json", action="store_true", help="print JSON")
    tools = sub.add_parser("tools", help="list registered tools")
    tools.add_argument("--json", action="store_true", help="print JSON")

    resume = sub.add_parser(
        "resume", help="answer a waiting run and follow it",
        description="Answer a waiting run, then print its log and outcome as\n"
        "`actorflow run` does (same format, same exit codes).",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    common(resume)
    resume.add_argument("run_id")
    resume.add_argument("--answer", default="null",
                        help="the answer: JSON when it parses (42, true, '{\"ok\": 1}'), "
                        "else the text itself (no); @file reads it from a file")
    resume.add_argument("--interrupt-id", help="which interrupt (needed when several wait)")
    resume.add_argument("--server", help="resume through a running server (http://host:port)"
                        " instead of executing the run here; prints the same outcome,"
                        " without the live log")
    history = sub.add_parser("history", help="a run's checkpoints, or its state at one")
    common(history)
    history.add_argument("run_id")
    history.add_argument("--step", type=int, help="print the state after this step")
    history.add_argument("--json", action="store_true", help="print JSON")
    return parser


#: Settings of `serve` whose flag has the setting's name.
_SERVE_SETTINGS = ("auth", "insecure", "jwt_secret", "jwt_jwks_url", "jwt_audience",
                   "jwt_issuer", "auth_handler", "cors_origins", "allowed_hosts", "certfile",
                   "keyfile", "concurrency", "cluster", "execute", "lease_seconds",
                   "heartbeat_seconds", "otlp_endpoint", "graph_limits", "durability")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``actorflow`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            database_url=getattr(args, "database_url", None), backend=getattr(args, "backend", None),
            log_level=getattr(args, "log_level", None),
            log_format=getattr(args, "log_format", None), host=getattr(args, "host", None),
            port=getattr(args, "port", None), max_body_bytes=getattr(args, "max_body_bytes", None),
            max_concurrent_runs=getattr(args, "max_concurrent_runs", None),
            access_log=getattr(args, "access_log", None),
            **{name: getattr(args, name, None) for name in _SERVE_SETTINGS})
    except SettingsError as exc:
        print(f"actorflow: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s]: "
                        "%(message)s")
    from .json_logs import JsonFormatter
    from .secrets import SecretFilter, known_secrets
    from .transport import request_id_logging

    hide = SecretFilter(known_secrets(settings))
    for handler in logging.getLogger().handlers:
        request_id_logging(handler)
        handler.addFilter(hide)
        if settings.log_format == "json":
            handler.setFormatter(JsonFormatter())
    if settings.log_level != "debug":  # one line per connect/disconnect otherwise
        logging.getLogger("databases").setLevel(logging.WARNING)
        # One line per request a command makes of a server (`resume --server`).
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return _dispatch(args, settings)
    except KeyboardInterrupt:
        return ExitCode.CANCELLED
    except Exception as exc:
        if settings.log_level == "debug":
            raise
        print(f"actorflow {args.command}: {type(exc).__name__}: {exc} (--log-level debug "
              "shows the traceback)", file=sys.stderr)
        return ExitCode.FAILED
    except BaseExceptionGroup as group:
        # Ctrl-C under trio reaches whichever task ran, inside the runtime's task groups.
        if group.subgroup(KeyboardInterrupt) is None:
            raise
        return ExitCode.CANCELLED


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        from .exposure import check_exposure
        from .server import serve

        try:
            check_exposure(settings)
        except SettingsError as exc:
            print(f"actorflow serve: {exc}", file=sys.stderr)
            return ExitCode.USAGE
        try:
            serve(settings)
        except SettingsError as exc:
            # Valid settings the machine refuses at start (the port is taken, another
            # process executes the SQLite file's runs): the command could not do its work.
            print(f"actorflow serve: {exc}", file=sys.stderr)
            return ExitCode.FAILED
        return 0
    if args.command == "keys":
        from .keys_cli import keys

        return int(anyio.run(keys, args, settings, backend=settings.backend))
    if args.command == "worker":
        from .worker import work

        return work(settings)
    if args.command == "run":
        return _run(args, settings)
    if args.command == "tools":
        return _tools(args)
    if args.command in ("resume", "history"):
        from .hitl_cli import history, resume

        command = resume if args.command == "resume" else history
        return int(anyio.run(command, args, settings, backend=settings.backend))
    return int(anyio.run(_list, args, settings, backend=settings.backend))


async def _run_rows(store: Store, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The runs to list; an active run whose process is gone shows as interrupted."""
    from .orphans import INTERRUPTED, shown_status

    wanted = args.status
    statuses = (["running", "pending"] if wanted in ("running", "pending", INTERRUPTED)
                else [wanted])
    records = [r for status in statuses
               for r in await store.list_runs(status=status, graph_id=args.graph,
                                              limit=args.limit)]
    if len(statuses) > 1:
        records.sort(key=lambda r: (r.created_at, r.id), reverse=True)   # newest first
    rows = [{"run_id": r.id, "graph": r.graph_name, "status": shown_status(r),
             "created_at": r.created_at, "error": r.error}
            for r in records]
    if wanted is not None:
        rows = [row for row in rows if row["status"] == wanted]
    return rows[: args.limit]


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .local_run import run_graph

    raw = args.input
    try:
        text = Path(raw[1:]).read_text() if raw.startswith("@") else raw
    except OSError as exc:
        print(f"actorflow run: --input {raw}: cannot read the file: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        data = json.loads(text)
    except ValueError as exc:
        where = f"the file {raw[1:]}" if raw.startswith("@") else "--input"
        print(f"actorflow run: {where} is not valid JSON: {exc}; give a JSON object, "
              """e.g. --input '{"code": "x = 1"}' or --input @state.json""", file=sys.stderr)
        return ExitCode.USAGE
    if not isinstance(data, dict):
        print("actorflow run: --input must be a JSON object", file=sys.stderr)
        return ExitCode.USAGE
    from runtime import ActorflowError, GraphError, StateError, ToolNotFoundError

    # Stored where --help says (the settings' database), a graph file's run too.
    try:
        return int(anyio.run(lambda: run_graph(args.graph, data,
                                                database_url=settings.database_url,
                                                timeout=args.timeout,
                                                cluster=own_runs_only(
                                                    settings.cluster_settings())),
                             backend=settings.backend))
    except (GraphError, ToolNotFoundError, StateError, FileNotFoundError, ValueError) as exc:
        # The graph or the input is wrong (a run's own failure is reported, not raised).
        print(f"actorflow run: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except (ActorflowError, OSError) as exc:
        print(f"actorflow run: {exc}", file=sys.stderr)
        return ExitCode.FAILED


def _tools(args: argparse.Namespace) -> int:
    import nodes  # noqa: F401  (registers the built-in workflow tools)
    from runtime import registry

    tools = [t.to_dict() for t in registry.list()]
    if args.json:
        print(json.dumps(tools, indent=2))
    else:
        width = max((len(t["name"]) for t in tools), default=4)
        for t in tools:
            print(f"{t['name']:<{width}}  {t['description']}")
    return 0


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    from runtime.store import open_store

    from .orphans import INTERRUPTED, RESUME_HINT

    store = open_store(settings.database_url)
    await store.open()
    try:
        rows: list[dict[str, Any]]
        if args.command == "graphs":
            rows = [{"graph_id": g.id, "name": g.name, "created_at": g.created_at,
                     "description": g.description}
                    for g in await store.list_graphs(limit=args.limit)]
        else:
            rows = await _run_rows(store, args)
    finally:
        await store.close()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for row in rows:
        if row.get("status") == INTERRUPTED:
            print(f"run {row['run_id']} is interrupted: {RESUME_HINT}", file=sys.stderr)
    if not rows:
        what = "graphs" if args.command == "graphs" else "runs"
        print(f"no {what} in {settings.database_url}"
              + (" (the example workflows are stored by `actorflow serve` and `actorflow run`)"
                 if what == "graphs" else ""), file=sys.stderr)
    else:
        for row in rows:
            print("  ".join("" if v is None else str(v) for v in row.values()))
    return 0
