"""A real ``actorflow serve`` subprocess on a free loopback port, for end-to-end tests.

``server(backend, database_url, **env)`` starts it, waits for ``/health``, yields a
:class:`Server`, and on exit sends SIGTERM and waits for it to stop. Its port is
reserved (:func:`reserved_port`) until then, so that no other process on the machine
(another test run) is handed it meanwhile and answers this test's requests. Databases:
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

__all__ = ["ACTORFLOW", "Server", "free_port", "fresh_postgres", "reserved_port", "server",
           "sqlite_url"]

ACTORFLOW = str(Path(sys.executable).with_name("actorflow"))
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
START_ATTEMPTS = 3
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A loopback port that the kernel hands to no other ``bind(("127.0.0.1", 0))`` (nor
    as a client's source port) while the block runs; a server started inside may listen
    on it.

    :func:`free_port` closes its socket, so the port is free again until the server has
    bound it (seconds of imports on a loaded machine), and another process's
    ``free_port`` may be given the same port: one server then fails to bind while its
    test's requests go to the other server, with another database (seen as a 401
    "unknown API key" for a key the test had just made). The socket here stays bound
    with SO_REUSEADDR and never listens: Linux lets a listener with SO_REUSEADDR
    (Hypercorn sets it) bind the port beside it, but skips the port when choosing one
    for anybody else.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


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
    for attempt in range(1, START_ATTEMPTS + 1):
        with reserved_port() as port:
            try:
                yield from _serve(backend, database_url, log_dir, port, env)
                return
            except _PortTaken:
                if attempt == START_ATTEMPTS:
                    raise AssertionError(f"{START_ATTEMPTS} ports in a row were taken by "
                                         "another process before the server bound them"
                                         ) from None


class _PortTaken(Exception):
    """Another process listens on the port (bound before it was reserved): try another."""


def _serve(backend: str, database_url: str, log_dir: Path, port: int,
           env: dict[str, Any]) -> Iterator[Server]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    environ.update({f"ACTORFLOW_{k.upper()}": str(v) for k, v in env.items()})
    # The code of this checkout, as the tests import it (pytest's pythonpath), not the
    # one the `actorflow` script's editable install names (another git worktree's).
    environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), environ.get("PYTHONPATH", "")) if p)
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [ACTORFLOW, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--backend", backend, "--database-url", database_url],
            stdout=log, stderr=subprocess.STDOUT, env=environ)
    srv = Server(proc, port, log_path)
    try:
        if not _wait_healthy(srv):
            raise _PortTaken
        yield srv
    finally:
        if proc.poll() is None:
            srv.terminate()


def _wait_healthy(srv: Server) -> bool:
    """True once the server answers /health; False if another process listens on its
    port (and the server has exited, unable to bind it)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            if _listening(srv.port) is not True:
                raise AssertionError(f"server exited with {srv.proc.returncode}:\n{srv.log()}")
            return False
        try:
            if (httpx.get(srv.url + "/health", timeout=1).status_code == 200
                    and _listening(srv.port, srv.proc.pid) is not False):
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"server not healthy within {START_TIMEOUT}s:\n{srv.log()}")


def _listening(port: int, pid: int | None = None) -> bool | None:
    """Whether a socket listens on 127.0.0.1:``port`` (``pid``: one of that process's);
    None where /proc cannot tell (not Linux)."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    local = f"0100007F:{port:04X}"
    inodes = {f"socket:[{f[9]}]" for f in (line.split() for line in table)
              if f[1] == local and f[3] == "0A"}   # 0A: LISTEN
    if pid is None or not inodes:
        return bool(inodes)
    try:
        fds = Path(f"/proc/{pid}/fd").iterdir()
        return any(os.readlink(fd) in inodes for fd in fds)
    except OSError:  # it exited meanwhile
        return False


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'actorflow.db'}"


@contextlib.contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A database URL of ``kind`` ("sqlite", "postgres") for one test: a file under
    ``tmp_path``, or a fresh database on ACTORFLOW_TEST_POSTGRES_URL's server (skipped
    without one, except in CI, where that fails)."""
    if kind == "sqlite":
        yield sqlite_url(tmp_path)
        return
    url = os.environ.get("ACTORFLOW_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            import pytest

            pytest.fail("ACTORFLOW_TEST_POSTGRES_URL is not set in CI")
        import pytest

        pytest.skip("no PostgreSQL: run through `make test`")
    with fresh_postgres(url) as fresh:
        yield fresh


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
