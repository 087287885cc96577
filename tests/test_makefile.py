"""``make run`` on a fresh checkout: one command installs what serving needs (no dev
tools) into a new virtualenv and serves on the host, port and database that the
``ACTORFLOW_*`` variables name."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[1]

#: Ceiling for creating the virtualenv and installing into it (pip reads a local
#: mirror, but the machine is shared): not a timing assertion.
INSTALL_TIMEOUT = 600.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environ(**actorflow: str) -> dict[str, str]:
    # A clean make: no jobserver or variables of a `make test` that runs this test.
    drop = ("ACTORFLOW_", "MAKE", "MFLAGS", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update({f"ACTORFLOW_{k.upper()}": v for k, v in actorflow.items()})
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # make and the server it started
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """``make run`` with a fresh VENV and ACTORFLOW_* settings; yields (url, venv, db)."""
    port, venv, db = _free_port(), tmp_path / "venv", tmp_path / "served.db"
    env = _environ(host="127.0.0.1", port=str(port), database_url=f"sqlite:///{db}",
                   backend="trio")
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["make", "run", f"VENV={venv}"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + INSTALL_TIMEOUT
        while not _healthy(url):
            assert proc.poll() is None, f"make run exited {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"not serving:\n{log.read_text()}"
            time.sleep(0.2)
        yield url, venv, db
    finally:
        _stop(proc)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT + 120)
def test_make_run_serves_where_actorflow_variables_say_without_dev_tools(
        make_run: tuple[str, Path, Path]) -> None:
    url, venv, db = make_run
    assert httpx.get(url + "/health").json()["backend"] == "trio"  # ACTORFLOW_BACKEND
    assert db.exists()  # ACTORFLOW_DATABASE_URL, not ./actorflow.db
    probe = ("import importlib.util, json; print(json.dumps([m for m in "
             "('pytest', 'mypy', 'ruff', 'playwright') if importlib.util.find_spec(m)]))")
    found = subprocess.run([str(venv / "bin" / "python"), "-c", probe],
                           check=True, capture_output=True, text=True)
    assert json.loads(found.stdout) == []
    assert (venv / "bin" / "actorflow").exists()


def test_make_run_passes_no_flags_over_the_actorflow_variables() -> None:
    # Flags would win over the environment (see api/cli.py); the defaults live in
    # api.settings.Settings (127.0.0.1:8000, sqlite:///actorflow.db).
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, env=_environ(), check=True,
                         capture_output=True, text=True).stdout
    serve = [line for line in dry.splitlines() if "actorflow serve" in line]
    assert serve and serve[-1].split()[-1] == "serve"
