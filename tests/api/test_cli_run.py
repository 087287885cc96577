"""``actorflow run`` and ``actorflow resume`` as a user meets them: real subprocesses of
the installed command, in a fresh directory, with no ``ACTORFLOW_*`` variable set."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _api_support import chain_graph
from _server import ACTORFLOW, server

from tests.nodes.prose_oracle import assert_prose_summary

pytestmark = pytest.mark.slow

BACKENDS = ["asyncio", "trio"]
TIMEOUT = 120  # seconds; a hung command fails the test instead of the suite

#: One log line: clock, sequence number, event type, node.
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d #\d+\s+[a-z_]+( \S+)?")
OUTCOME_KEYS = {"run_id", "status", "state", "error", "interrupts"}

APPROVAL = {
    "name": "approval",
    "nodes": [
        {"name": "draft", "tool": "set", "config": {"values": {"draft": "v1"}}},
        {"name": "approve", "tool": "ask",
         "config": {"key": "approved", "question": "Publish draft v1?", "show": ["draft"]}},
    ],
    "edges": [{"from": "draft", "to": "approve"}],
}


def environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}


def actorflow(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ACTORFLOW, *args], check=False, cwd=cwd, env=environ(),
                          capture_output=True, text=True, timeout=TIMEOUT)


def write_graph(tmp_path: Path, graph: dict[str, Any]) -> str:
    path = tmp_path / f"{graph['name']}.json"
    path.write_text(json.dumps(graph))
    return path.name


def log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if LOG_LINE.match(line)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_of_a_graph_file_is_stored_where_help_says_and_history_finds_it(
        tmp_path: Path, backend: str) -> None:
    help_text = actorflow(tmp_path, "run", "--help").stdout
    assert "sqlite:///actorflow.db" in " ".join(help_text.split())
    done = actorflow(tmp_path, "run", write_graph(tmp_path, chain_graph("chain")),
                     "--input", '{"y": 2}', "--backend", backend)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "completed" and outcome["state"] == {"y": 2, "a": 1, "done": True}
    assert (tmp_path / "actorflow.db").is_file()
    # A later command, in another process, finds the run in the same default database.
    history = actorflow(tmp_path, "history", outcome["run_id"], "--json")
    assert history.returncode == 0, history.stderr
    assert [row["nodes"] for row in json.loads(history.stdout)] == [[], ["a"], ["b"], ["c"]]
    runs = json.loads(actorflow(tmp_path, "runs", "--json").stdout)
    assert [(r["run_id"], r["status"]) for r in runs] == [(outcome["run_id"], "completed")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_waiting_run_shows_its_question_and_exits_3(tmp_path: Path, backend: str) -> None:
    done = actorflow(tmp_path, "run", write_graph(tmp_path, APPROVAL), "--backend", backend)
    assert done.returncode == 3, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "waiting" and outcome["error"] is None
    assert [i["node"] for i in outcome["interrupts"]] == ["approve"]
    assert "approve: Publish draft v1?" in done.stderr
    assert f"actorflow resume {outcome['run_id']} --answer" in done.stderr


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    for command in ([], ["run"], ["resume"]):
        text = actorflow(tmp_path, *command, "--help").stdout
        assert "exit codes" in text
        for code, meaning in [("0", "completed"), ("1", "failed"), ("2", "bad arguments"),
                              ("3", "waits for an answer"), ("130", "cancelled")]:
            assert re.search(rf"^\s+{code}\s+.*{meaning}", text, re.MULTILINE), (command, code)


@pytest.mark.parametrize("backend", BACKENDS)
def test_resume_takes_a_plain_string_answer_and_prints_what_run_prints(
        tmp_path: Path, backend: str) -> None:
    started = actorflow(tmp_path, "run", write_graph(tmp_path, APPROVAL), "--backend", backend)
    run_id = json.loads(started.stdout)["run_id"]
    resumed = actorflow(tmp_path, "resume", run_id, "--answer", "no", "--backend", backend)
    assert resumed.returncode == 0, resumed.stderr
    outcome = json.loads(resumed.stdout)
    assert outcome["state"] == {"draft": "v1", "approved": "no"}
    # The same document, and the same log lines, as `run` printed.
    assert set(outcome) == set(json.loads(started.stdout)) == OUTCOME_KEYS
    assert (outcome["run_id"], outcome["status"]) == (run_id, "completed")
    # Both name the run, its graph and its database first.
    assert started.stderr.startswith(f"run {run_id} of graph 'approval' in sqlite:///")
    assert resumed.stderr.startswith(f"run {run_id} of graph 'approval' in sqlite:///")
    resumed_log = log_lines(resumed.stderr)
    assert resumed_log and "run_completed" in resumed_log[-1]
    assert any("node_completed approve" in line for line in resumed_log)
    # Only what happened after the answer: the paused part is not printed again.
    assert not any("node_started draft" in line for line in resumed_log)
    assert any("node_started draft" in line for line in log_lines(started.stderr))


def test_an_answer_that_parses_as_json_is_json(tmp_path: Path) -> None:
    graph = write_graph(tmp_path, APPROVAL)
    for answer, expected in [('{"ok": true}', {"ok": True}), ("42", 42), ('"42"', "42"),
                             ("yes please", "yes please")]:
        run_id = json.loads(actorflow(tmp_path, "run", graph).stdout)["run_id"]
        resumed = actorflow(tmp_path, "resume", run_id, "--answer", answer)
        assert json.loads(resumed.stdout)["state"]["approved"] == expected, resumed.stderr


def test_a_failed_run_exits_1_with_the_same_format(tmp_path: Path) -> None:
    done = actorflow(tmp_path, "run", write_graph(tmp_path, chain_graph("bad", fail=True)),
                     "--backend", "trio")
    assert done.returncode == 1
    outcome = json.loads(done.stdout)
    assert set(outcome) == OUTCOME_KEYS and outcome["status"] == "failed"
    assert "boom" in outcome["error"] and "node_failed c" in done.stderr


def test_a_second_answer_is_refused_with_exit_1(tmp_path: Path) -> None:
    run_id = json.loads(actorflow(tmp_path, "run", write_graph(tmp_path, APPROVAL)).stdout)["run_id"]
    assert actorflow(tmp_path, "resume", run_id, "--answer", "yes").returncode == 0
    again = actorflow(tmp_path, "resume", run_id, "--answer", "again")
    assert again.returncode == 1 and "not waiting" in again.stderr
    # A run id that names no run is a bad argument (2), as an unknown graph is for `run`.
    unknown = actorflow(tmp_path, "resume", "1234", "--answer", "yes")
    assert unknown.returncode == 2 and "no run '1234'" in unknown.stderr, unknown.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_progress_lines_appear_while_the_run_goes_on(tmp_path: Path, backend: str) -> None:
    # Node b sleeps far longer than the test needs: its start must be printed while
    # the run is still going, not with the rest at the end.
    graph = write_graph(tmp_path, chain_graph("slow", delay=600))
    proc = subprocess.Popen([ACTORFLOW, "run", graph, "--backend", backend], cwd=tmp_path,
                            env=environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "node_started b" in line:
                break
        assert any("node_completed a" in line for line in seen), seen
        assert proc.poll() is None  # still running: the lines came as things happened
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_resume_through_a_server_prints_what_run_prints(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'actorflow.db'}"
    run_id = json.loads(actorflow(tmp_path, "run", write_graph(tmp_path, APPROVAL)).stdout)["run_id"]
    with server("asyncio", url, tmp_path) as srv:
        resumed = actorflow(tmp_path, "resume", run_id, "--answer", "no", "--server", srv.url)
        unknown = actorflow(tmp_path, "resume", "nope", "--answer", "no", "--server", srv.url)
    assert unknown.returncode == 2 and "404" in unknown.stderr, unknown.stderr
    assert resumed.returncode == 0, resumed.stderr
    outcome = json.loads(resumed.stdout)
    assert set(outcome) == OUTCOME_KEYS
    assert (outcome["status"], outcome["state"]) == ("completed", {"draft": "v1", "approved": "no"})
    # What the command says, not a log line per HTTP request it made (httpx's INFO).
    assert "HTTP Request" not in resumed.stderr, resumed.stderr


def test_on_a_terminal_a_progress_line_names_the_running_nodes(tmp_path: Path) -> None:
    graph = write_graph(tmp_path, chain_graph("slow", delay=600))
    master, slave = os.openpty()
    proc = subprocess.Popen([ACTORFLOW, "run", graph], cwd=tmp_path, env=environ(),
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    try:
        screen = b""
        while b"running: b |" not in screen:
            chunk = os.read(master, 4096)
            assert chunk, screen
            screen += chunk
        assert b"[1 steps | running: b |" in screen and b"node_started b" in screen
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT) == 130
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_readme_lists_the_exit_codes_the_command_uses() -> None:
    from api.cli_report import ExitCode

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme.split("Exit codes of `run` and `resume`", 1)[1].split("\n\n", 2)[1]
    codes = {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert codes == {int(code) for code in ExitCode}


def test_run_summarization_on_a_markdown_document_prints_prose_sentences(tmp_path: Path) -> None:
    fixtures = Path(__file__).parents[1] / "nodes" / "fixtures"
    source = (fixtures / "design_document.md").read_text()[:20_000]
    (tmp_path / "input.json").write_text(json.dumps({"text": source, "max_length": 1000}))
    done = actorflow(tmp_path, "run", "summarization", "--input", "@input.json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)["state"]["summary"]
    assert_prose_summary(summary, source, "markdown", 1000)
    # The fragments the summarizer printed for this very text before (issue 17).
    assert "[API Design](#api-design) 9." not in summary
    assert "# Add nodes graph.add_node(" not in summary


def test_a_wrong_graph_or_input_exits_2_before_any_run(tmp_path: Path) -> None:
    missing = actorflow(tmp_path, "run", "nowhere.json")
    assert missing.returncode == 2 and "nowhere.json" in missing.stderr
    typo = dict(chain_graph("typo"))
    typo["nodes"] = [{"name": "a", "tool": "sett", "config": {}}]
    typo["edges"] = []
    wrong = actorflow(tmp_path, "run", write_graph(tmp_path, typo))
    assert wrong.returncode == 2 and "sett" in wrong.stderr and "set" in wrong.stderr
    unknown = actorflow(tmp_path, "run", "no_such_graph")
    assert unknown.returncode == 2 and "no graph with id or name 'no_such_graph'" in unknown.stderr
    typo_name = actorflow(tmp_path, "run", "code_reveiw")
    assert typo_name.returncode == 2 and "did you mean 'code_review'?" in typo_name.stderr
    malformed = actorflow(tmp_path, "run", "code_review", "--input", '{"code": ')
    assert malformed.returncode == 2
    assert "--input is not valid JSON: Expecting value: line 1 column 10" in malformed.stderr
    nofile = actorflow(tmp_path, "run", "code_review", "--input", "@nope.json")
    assert nofile.returncode == 2
    assert "--input @nope.json: cannot read the file: No such file or directory" in nofile.stderr
    assert actorflow(tmp_path, "run", write_graph(tmp_path, APPROVAL),
                     "--input", "[1]").returncode == 2
    runs = actorflow(tmp_path, "runs", "--json")
    assert json.loads(runs.stdout or "[]") == []
