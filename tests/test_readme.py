"""The README's embedding example runs as written, on both backends."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README has no python example"
    return blocks[0]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_readme_embedding_example_runs(tmp_path: Path, backend: str) -> None:
    code = _example().replace("sqlite:///actorflow.db", f"sqlite:///{tmp_path / 'ex.db'}")
    code = code.replace('backend="trio"', f'backend="{backend}"')
    script = tmp_path / "example.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                         text=True, timeout=120, cwd=README.parent)
    assert out.returncode == 0, out.stderr
    assert "run_completed" in out.stdout
    assert "'score': 90" in out.stdout


def test_the_readmes_sample_financial_report_is_what_the_workflow_prints() -> None:
    import anyio

    from nodes.finance.current import use_market_provider
    from nodes.finance.offline import OfflineProvider
    from nodes.workflows import build_financial_analysis_graph
    from runtime import Runtime

    match = re.search(r"The report of the command above.*?```text\n(.*?)```", README.read_text(),
                      flags=re.DOTALL)
    assert match, "README has no sample financial report"

    async def report() -> str:
        with use_market_provider(OfflineProvider()):
            async with Runtime() as rt:
                run = await rt.start(build_financial_analysis_graph().compile(),
                                     {"symbol": "AAPL", "as_of": "2016-06-30"})
                return str((await run.result()).data["report"]["text"])

    assert match.group(1).rstrip("\n") == anyio.run(report)


@pytest.mark.parametrize("section", ["Subgraphs", "Threads (conversations)"])
def test_the_readme_composition_examples_run_and_print_what_they_say(
        tmp_path: Path, section: str) -> None:
    text = README.read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", body, flags=re.DOTALL)[0]
    script = tmp_path / "example.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                         text=True, timeout=120, cwd=README.parent)
    assert out.returncode == 0, out.stderr
    # Each "# value" comment after a print is what that print shows.
    printed = out.stdout.splitlines()
    if section == "Subgraphs":
        assert printed[0] == "{'n': 21, 'results': [1, 42]}"
        assert printed[1].endswith("/calc:0']")
    else:
        assert printed[0] == "{'messages': ['hi', 'echo: hi', 'again', 'echo: again']}"
        assert printed[1] == "['completed', 'completed']"


def test_the_readmes_routing_example_runs_as_described() -> None:
    import anyio

    from runtime import Runtime

    [code] = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
              if "add_conditional_edges" in b]
    ns: dict[str, object] = {}
    exec(code, ns)  # noqa: S102 - the README's own example

    async def run(data: dict[str, object]) -> dict[str, object]:
        async with Runtime() as rt:
            run = await rt.start(ns["g"].compile(), data)  # type: ignore[attr-defined]
            return dict((await run.result()).data)

    hard = anyio.run(run, {"hard": True, "queries": ["a", "b", "c"]})
    assert hard["found"] == ["A", "B", "C"] and hard["reply"] == "A, B, C"
    assert anyio.run(run, {"hard": False, "queries": []})["reply"] == "easy"
