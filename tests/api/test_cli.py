"""The ``actorflow`` command's settings and listings, in process.

``run`` and ``resume`` are tested as a user meets them, in real subprocesses, in
tests/api/test_cli_run.py (and a signal test here). ``serve`` is covered by the
end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from _api_support import chain_graph
from _server import ACTORFLOW

from api import Settings, SettingsError
from api.cli import main


def test_settings_read_actorflow_variables_and_flags_win() -> None:
    env = {"ACTORFLOW_PORT": "9001", "ACTORFLOW_BACKEND": "trio", "ACTORFLOW_ALLOW_IMPORTS": "1",
           "ACTORFLOW_DATABASE_URL": "memory://"}
    settings = Settings.from_env(env, port=9002)
    assert (settings.port, settings.backend, settings.allow_imports) == (9002, "trio", True)
    assert settings.database_url == "memory://"


def test_a_retired_variable_stops_the_settings_and_names_its_replacements() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"ACTORFLOW_MAX_RUNS_PER_TENANT": "5"})
    message = str(refused.value)
    assert "ACTORFLOW_MAX_RUNS_PER_TENANT is no longer read" in message
    assert "ACTORFLOW_MAX_RUNNING_RUNS_PER_TENANT" in message
    assert "ACTORFLOW_MAX_QUEUED_RUNS_PER_TENANT" in message
    # Set but empty is unset, as for every other variable.
    assert Settings.from_env({"ACTORFLOW_MAX_RUNS_PER_TENANT": ""}).max_running_runs_per_tenant


def test_durability_is_read_from_actorflow_durability_and_given_to_the_store(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    strict = Settings.from_env({"ACTORFLOW_DURABILITY": "power", "ACTORFLOW_DATABASE_URL": url})
    assert getattr(strict.open_store(), "durability", None) == "power"
    default = Settings.from_env({"ACTORFLOW_DATABASE_URL": url})
    assert getattr(default.open_store(), "durability", None) == "process"
    with pytest.raises(SettingsError, match="ACTORFLOW_DURABILITY"):
        Settings.from_env({"ACTORFLOW_DURABILITY": "disk"})


def test_a_bad_setting_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="ACTORFLOW_PORT"):
        Settings.from_env({"ACTORFLOW_PORT": "eighty"})


def test_runs_and_graphs_list_what_a_database_holds(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(chain_graph("listed")))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["run", str(graph), "--database-url", url]) == 0
    capsys.readouterr()
    assert main(["runs", "--database-url", url, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in runs] == ["completed"]
    assert main(["graphs", "--database-url", url, "--json"]) == 0
    # A graph run from a file is not stored; the example workflows are.
    names = [g["name"] for g in json.loads(capsys.readouterr().out)]
    assert sorted(names) == ["code_review", "financial_analysis", "summarization"]


def test_a_database_that_cannot_be_opened_is_one_clear_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graphs", "--database-url", "sqlite:////nonexistent/dir/x.db"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("actorflow graphs: ") and "unable to open database file" in err
    assert "Traceback" not in err


def test_a_database_that_cannot_be_opened_leaves_no_thread_failing_after_its_loop(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # aiosqlite stops the worker thread of a connection that failed to open without
    # waiting for it; the thread then reports to a loop the CLI has closed meanwhile
    # ("RuntimeError: Event loop is closed" in a thread, after the command returned).
    failures: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    before = set(threading.enumerate())
    assert main(["runs", "--database-url", "sqlite:////nonexistent/dir/x.db"]) == 1
    assert "unable to open database file" in capsys.readouterr().err
    for thread in set(threading.enumerate()) - before:
        thread.join(10)   # every thread the command started ends, and ends quietly
        assert not thread.is_alive(), thread
    assert failures == []


def test_an_unknown_status_filter_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["runs", "--status", "exploded"])
    assert info.value.code == 2
    assert "invalid choice: 'exploded'" in capsys.readouterr().err


def test_tools_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--json"]) == 0
    names = {t["name"] for t in json.loads(capsys.readouterr().out)}
    assert {"set", "delay", "fail"} <= names


def _paused_run(url: str) -> str:
    import anyio

    from runtime import Graph, Runtime, RunWaiting

    graph = Graph.from_json({
        "name": "cli_approval",
        "nodes": [{"name": "draft", "tool": "set", "config": {"values": {"draft": "v1"}}},
                  {"name": "approve", "tool": "ask", "config": {"key": "approved"}}],
        "edges": [{"from": "draft", "to": "approve"}],
    })

    async def go() -> str:
        async with Runtime(url) as rt:
            run = await rt.start(graph.compile(), {})
            with pytest.raises(RunWaiting):
                await run.result()
            return run.id

    return anyio.run(go)


def test_history_lists_a_runs_checkpoints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run_id = _paused_run(url)
    assert main(["history", run_id, "--database-url", url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # Step 0 is the run's input (here none), then each step's nodes and keys.
    assert [r["step"] for r in rows] == [0, 1]
    assert rows[0]["nodes"] == [] and rows[0]["changed"] == []
    assert rows[1]["nodes"] == ["draft"] and rows[1]["changed"] == ["draft"]
    assert main(["history", run_id, "--database-url", url, "--step", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == {"draft": "v1"}
    assert main(["history", run_id, "--database-url", url, "--step", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == {}
    assert main(["history", run_id, "--database-url", url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["0", "(input)"] and table[1].split() == ["1", "draft", "draft"]
    assert main(["history", run_id, "--database-url", url, "--step", "2"]) == 1
    assert f"run {run_id} has no step 2" in capsys.readouterr().err


def test_run_of_the_code_review_example_by_name_on_a_fresh_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = json.dumps({"code": "def hello():\n    pass", "quality_threshold": 70})
    assert main(["run", "code_review", "--input", code, "--database-url", url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "completed"
    assert any("Add docstring" in s for s in out["state"]["suggestions"])


def _cli_run_in_node_b(tmp_path: Path, url: str, backend: str) -> subprocess.Popen[str]:
    """`actorflow run` of a chain whose node b waits 600 s, once b is executing."""
    graph = tmp_path / "slow.json"
    graph.write_text(json.dumps(chain_graph("slow", delay=600)))
    proc = subprocess.Popen([ACTORFLOW, "run", str(graph), "--database-url", url,
                             "--backend", backend], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:  # the log, line by line, until node b (600 s) is executing
        if "node_started b" in line:
            break
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_cancels_the_cli_run_instead_of_leaving_it_running(
        tmp_path: Path, backend: str, signum: signal.Signals,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    proc = _cli_run_in_node_b(tmp_path, url, backend)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"received {signum.name}: cancelling run" in err
    assert json.loads(out)["status"] == "cancelled"
    capsys.readouterr()
    assert main(["runs", "--database-url", url, "--json"]) == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["cancelled"]


async def _recover_here(url: str, run_id: str) -> tuple[str, str | None, str]:
    """Open a recovering runtime on ``url``: it resumes the run, as `serve` does at start;
    what the store and the listing say of it then."""
    from api.orphans import shown_status
    from runtime import Runtime
    from runtime.store import open_store

    async with Runtime(open_store(url)) as rt:
        record = await rt.store.get_run(run_id)
        assert record is not None
        await rt.cancel(run_id)   # its node b waits 600 s
        return record.status.value, record.owner, shown_status(record)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_cli_run_killed_with_sigkill_is_listed_as_interrupted_until_resumed(
        tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    import anyio

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    proc = _cli_run_in_node_b(tmp_path, url, backend)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)   # reaped: its pid names no process any more
    capsys.readouterr()
    assert main(["runs", "--database-url", url, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["status"] == "interrupted"   # the store still says running
    assert main(["runs", "--database-url", url]) == 0
    listed = capsys.readouterr()
    assert "  interrupted  " in listed.out
    assert f"run {row['run_id']} is interrupted: its process is gone; `actorflow serve`" in (
        listed.err)
    for status, found in (("running", []), ("interrupted", [row["run_id"]])):
        assert main(["runs", "--database-url", url, "--status", status, "--json"]) == 0
        assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == found
    # A runtime that recovers resumes it (as `serve` does): running again, owned by a
    # live process, and listed as running.
    status, owner, shown = anyio.run(_recover_here, url, row["run_id"], backend=backend)
    assert (status, shown) == ("running", "running")
    assert owner is not None and f":{os.getpid()}:" in owner


async def _open_recovering(url: str, run_id: str) -> tuple[str | None, bool]:
    """Open a recovering runtime on ``url`` (as `serve` does at start): the run's owner
    after it, and whether this runtime took the run over."""
    from runtime import Runtime
    from runtime.store import open_store

    async with Runtime(open_store(url)) as rt:
        record = await rt.store.get_run(run_id)
        assert record is not None
        return record.owner, rt.table.get(run_id) is not None


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_runtime_opening_beside_a_live_cli_run_leaves_that_run_to_it(
        tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`serve` starting on the SQLite file an `actorflow run` is executing on must not
    resume that run a second time (node b would run twice, in two processes)."""
    import anyio

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    proc = _cli_run_in_node_b(tmp_path, url, backend)
    try:
        capsys.readouterr()
        assert main(["runs", "--database-url", url, "--json"]) == 0
        [row] = json.loads(capsys.readouterr().out)
        owner, taken = anyio.run(_open_recovering, url, row["run_id"], backend=backend)
        assert f":{proc.pid}:" in str(owner) and not taken
        proc.send_signal(signal.SIGTERM)   # the CLI still owns it: it cancels it
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert json.loads(out)["status"] == "cancelled"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)


def test_the_database_named_in_the_log_hides_its_password() -> None:
    from api.cli_report import redact

    assert redact("postgresql://app:s3cret@db.internal:5432/flows") == (
        "postgresql://app:***@db.internal:5432/flows")
    assert redact("sqlite:///actorflow.db") == "sqlite:///actorflow.db"
