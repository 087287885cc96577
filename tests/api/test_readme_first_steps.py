"""The README's first steps work as written: its curl lines, run by bash and curl against
a real server, from the checkout (they post the files in nodes/examples/); the graph it
shows as JSON is an example file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _server import server, sqlite_url

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def _shell_blocks(section: str) -> list[list[str]]:
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [block.strip().splitlines() for block in blocks]


def test_readme_starts_with_exactly_the_two_commands() -> None:
    lines = README.read_text().splitlines()
    assert lines[:3] == ["# actorflow", "", "```sh"]
    assert [line.split()[:2] for line in lines[3:5]] == [["make", "run"], ["make", "test"]]
    assert lines[5] == "```"


def _curl(line: str, url: str, run_id: str) -> Any:
    """One README line through bash (so its quoting, ``$RUN_ID`` and comments count)."""
    out = subprocess.run(["bash", "-c", line.replace(DOCUMENTED_URL, url)], check=False, cwd=ROOT,
                         env={**os.environ, "RUN_ID": run_id}, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, (line, out.stderr)
    answer = json.loads(out.stdout)
    assert answer.get("error") is None, (line, answer)
    return answer


@pytest.mark.slow
def test_first_steps_curl_lines_run_the_examples_to_the_end(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        if os.environ.get("CI"):
            pytest.fail("curl is missing in CI; `make test` installs it")
        pytest.skip("curl is missing: run `make test`, which installs it")
    blocks = _shell_blocks(_section("First steps"))
    assert len(blocks) >= 2
    with server("asyncio", sqlite_url(tmp_path), tmp_path) as srv:
        for block in blocks:
            run_id, statuses = "", []
            for line in block:
                if line.startswith("RUN_ID="):
                    assert run_id, "RUN_ID is read before any run started"
                    continue
                assert line.startswith("curl "), line
                answer = _curl(line, srv.url, run_id)
                if "/api/v1/graph/run " in line:
                    run_id = answer["run_id"]
                if "status" in answer:
                    statuses.append(answer["status"])
            assert statuses[-1] == "completed", (block, statuses)
            if any("/resume " in line for line in block):
                assert "waiting" in statuses, statuses


def test_the_graph_json_shown_is_the_example_file_it_names() -> None:
    section = _section("Graphs as JSON")
    (shown,) = re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)
    (name,) = re.findall(r"`(nodes/examples/graphs/[a-z_]+\.json)`", section)
    assert json.loads(shown) == json.loads((ROOT / name).read_text())
