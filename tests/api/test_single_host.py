"""SQLite serves one executing process per file: a second ``actorflow serve`` or
``worker`` on the same file refuses to start and says what to do; readers still work."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from _server import ACTORFLOW, free_port


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}


def test_a_second_executor_on_one_sqlite_file_is_refused_and_readers_still_work(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    log = tmp_path / "first.log"
    with log.open("wb") as out:
        first = subprocess.Popen([ACTORFLOW, "worker", "--database-url", url],
                                 stdout=out, stderr=subprocess.STDOUT, env=_env())
    try:
        deadline = time.monotonic() + 60
        while "executing runs" not in log.read_text(errors="replace"):
            assert first.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)
        for second in (["serve", "--port", str(free_port())], ["worker"]):
            done = subprocess.run([ACTORFLOW, *second, "--database-url", url], env=_env(),
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode != 0
            assert f"another actorflow process (pid {first.pid}) executes the runs" in done.stderr
            assert "move to PostgreSQL" in done.stderr
        readers = subprocess.run([ACTORFLOW, "runs", "--database-url", url], env=_env(),
                                 capture_output=True, text=True, timeout=60)
        assert readers.returncode == 0, readers.stderr
    finally:
        first.terminate()
        first.wait(30)
