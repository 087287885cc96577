"""A real ``actorflow serve`` subprocess on a free loopback port, for end-to-end tests.

``server(backend, database_url, **env)`` starts it, waits for ``/health``, yields a
:class:`Server`, and on exit sends SIGTERM and waits for it to stop. Databases:
``sqlite_url(tmp_path)`` and ``fresh_postgres(url)`` (a new database per test,
dropped afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["ACTORFLOW", "Server", "free_port", "fresh_postgres", "server", "sqlite_url"]

ACTORFLOW = str(Path(sys.executable).with_name("actorflow"))
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server: its URLs and process."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait; returns the exit code (kills it after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not stop within {timeout}s:\n{self.log()}") from None


@contextlib.contextmanager
def server(backend: str, database_url: str, log_dir: Path, **env: Any) -> Iterator[Server]:
    """Start ``actorflow serve``; ``env`` adds ACTORFLOW_* settings (lower-case keys)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    environ.update({f"ACTORFLOW_{k.upper()}": str(v) for k, v in env.items()})
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [ACTORFLOW, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--backend", backend, "--database-url", database_url],
            stdout=log, stderr=subprocess.STDOUT, env=environ)
    srv = Server(proc, port, log_path)
    try:
        _wait_healthy(srv)
        yield srv
    finally:
        if proc.poll() is None:
            srv.terminate()


def _wait_healthy(srv: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise AssertionError(f"server exited with {srv.proc.returncode}:\n{srv.log()}")
        try:
            if httpx.get(srv.url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"server not healthy within {START_TIMEOUT}s:\n{srv.log()}")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'actorflow.db'}"


@contextlib.contextmanager
def fresh_postgres(url: str) -> Iterator[str]:
    """A new, empty database on the server of ``url``; dropped afterwards."""
    import asyncpg  # type: ignore[import-untyped]

    name = f"actorflow_e2e_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    main, _, query = url.partition("?")
    base = main.rpartition("/")[0]
    try:
        yield f"{base}/{name}" + (f"?{query}" if query else "")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
