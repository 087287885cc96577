"""A run's owner told apart from a process that was given its pid later.

Real processes: this one and short-lived ``python`` subprocesses. An owner id names its
host, pid and the process's start time (from /proc), so a pid the system reused for
another Python process does not keep a dead owner's runs waiting as if it were alive.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from runtime.owner import _started, new_instance_id, owner_alive, owner_gone

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="process start times come from /proc (Linux)")

HOST = socket.gethostname()


@contextmanager
def python_process(executable: str = sys.executable) -> Iterator[subprocess.Popen[bytes]]:
    """Another live Python process (running: its command line is read as it is, not
    the empty one between fork and exec), stopped afterwards."""
    proc = subprocess.Popen([executable, "-c", "import time; print('up', flush=True); "
                             "time.sleep(60)"], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_an_instance_id_names_host_pid_and_the_process_start() -> None:
    host, pid, rand, start = new_instance_id().split(":")
    assert (host, int(pid)) == (HOST, os.getpid())
    assert len(rand) == 8 and int(start) == _started(os.getpid())
    assert new_instance_id() != new_instance_id()


def test_a_live_owner_with_its_own_start_time_is_alive() -> None:
    with python_process() as proc:
        start = _started(proc.pid)
        assert start is not None and start >= (_started(os.getpid()) or 0)
        owner = f"{HOST}:{proc.pid}:abcd1234:{start}"
        assert owner_alive(owner) and not owner_gone(owner)


def test_a_pid_now_held_by_another_process_is_not_the_owner() -> None:
    # The owner's id says it started at another time than the process that has the
    # pid now: the owner died and the system gave its pid to this one.
    with python_process() as proc:
        start = _started(proc.pid)
        assert start is not None
        reused = f"{HOST}:{proc.pid}:abcd1234:{start - 1}"
        assert not owner_alive(reused) and owner_gone(reused)


def test_an_owner_id_without_a_start_time_is_judged_by_its_pid_alone() -> None:
    # Ids written before start times were recorded: a live Python process with the pid
    # counts as the owner, as it always did.
    with python_process() as proc:
        owner = f"{HOST}:{proc.pid}:abcd1234"
        assert owner_alive(owner) and not owner_gone(owner)
    assert not owner_alive(owner) and owner_gone(owner)   # the process is gone


def test_start_times_are_read_past_a_command_name_with_spaces_and_parentheses(
        tmp_path: Path) -> None:
    odd = tmp_path / "python) (b c"
    odd.symlink_to(os.path.realpath(sys.executable))   # the interpreter, not a shim
    with python_process(str(odd)) as proc:
        with open(f"/proc/{proc.pid}/stat", "rb") as f:
            assert b"(python) (b c)" in f.read()
        start = _started(proc.pid)
        assert start is not None and start >= (_started(os.getpid()) or 0)
        assert owner_alive(f"{HOST}:{proc.pid}:abcd1234:{start}")


def test_other_hosts_and_foreign_ids_are_neither_alive_nor_gone() -> None:
    for owner in (f"elsewhere:{os.getpid()}:abcd1234:1", "my-app-instance", None, ""):
        assert not owner_alive(owner) and not owner_gone(owner)
