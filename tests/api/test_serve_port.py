"""``actorflow serve`` on a port another process listens on stops with one line saying
so, on both backends and every database: no traceback, no "serving on" first, and
nothing left behind (the SQLite file's executor lock, threads)."""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from _server import ACTORFLOW

from api import server
from api.settings import AddressUnavailableError, Settings

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def occupied_port() -> Iterator[int]:
    """A loopback port another socket listens on while the block runs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    # This checkout's code, whatever the environment's editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _database(kind: str, tmp_path: Path) -> str:
    return "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'busy.db'}"


@pytest.mark.slow
@pytest.mark.parametrize("database", ["memory", "sqlite"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serve_on_a_busy_port_says_so_in_one_line(
        tmp_path: Path, backend: str, database: str) -> None:
    url = _database(database, tmp_path)
    with occupied_port() as port:
        done = subprocess.run([ACTORFLOW, "serve", "--backend", backend], env={
            **_env(), "ACTORFLOW_PORT": str(port), "ACTORFLOW_DATABASE_URL": url},
            capture_output=True, text=True, timeout=120)
    err = done.stderr
    assert done.returncode == 1, err   # as every other startup failure of the command
    assert "Traceback" not in err, err
    assert "serving on" not in err, err
    assert err.splitlines() == [
        f"actorflow serve: cannot listen on 127.0.0.1:{port}: address already in use; "
        "stop the other process or choose another port (--port or ACTORFLOW_PORT)"], err
    if database == "sqlite":   # the SQLite file is free for the next executor
        _assert_executor_lock_free(url)


@pytest.mark.slow
@pytest.mark.parametrize("certificate", ["missing", "not pem"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serve_with_a_certificate_it_cannot_use_says_so_in_one_line(
        tmp_path: Path, backend: str, certificate: str) -> None:
    # Hypercorn reads the certificate after the app's lifespan has started (as it binds):
    # the same traceback as a busy port's, ending in a bare SSLError or FileNotFoundError.
    pem = tmp_path / "server.pem"
    if certificate == "not pem":
        pem.write_text("not a certificate\n")
    with occupied_port() as port:
        pass   # a port free again (the certificate is read before any bind)
    done = subprocess.run([ACTORFLOW, "serve", "--backend", backend, "--certfile", str(pem),
                           "--keyfile", str(pem)],
                          env={**_env(), "ACTORFLOW_PORT": str(port),
                               "ACTORFLOW_DATABASE_URL": _database("sqlite", tmp_path)},
                          capture_output=True, text=True, timeout=120)
    err = done.stderr
    assert done.returncode == 1, err
    assert "Traceback" not in err and "serving on" not in err, err
    [line] = err.splitlines()
    assert line.startswith(f"actorflow serve: cannot use the TLS certificate {pem} with the "
                           f"key {pem}: "), line
    assert line.endswith("(--certfile and --keyfile, or ACTORFLOW_CERTFILE and "
                         "ACTORFLOW_KEYFILE)"), line
    _assert_executor_lock_free(_database("sqlite", tmp_path))


def _assert_executor_lock_free(url: str) -> None:
    lock = url[len("sqlite:///"):] + ".executor.lock"
    if not os.path.exists(lock):
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # raises if still held
    finally:
        os.close(fd)


@pytest.mark.parametrize("database", ["memory", "sqlite"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serve_in_process_on_a_busy_port_raises_one_error_and_leaves_nothing(
        tmp_path: Path, backend: str, database: str, monkeypatch: pytest.MonkeyPatch,
        app_threshold: tuple[int, int, int]) -> None:
    url = _database(database, tmp_path)
    monkeypatch.setattr(server, "freeze_startup_objects", lambda: None)  # not in pytest
    before = set(threading.enumerate())
    with occupied_port() as port:
        settings = Settings.from_env({"ACTORFLOW_DATABASE_URL": url,
                                      "ACTORFLOW_BACKEND": backend,
                                      "ACTORFLOW_PORT": str(port)})
        with pytest.raises(AddressUnavailableError) as refused:
            server.serve(settings)
    assert f"127.0.0.1:{port}" in str(refused.value)
    assert "already in use" in str(refused.value)
    gc.collect()   # an abandoned generator would complain now
    for thread in set(threading.enumerate()) - before:
        thread.join(10)
        assert not thread.is_alive(), thread
    if database == "sqlite":
        _assert_executor_lock_free(url)
