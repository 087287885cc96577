"""The code-review workflow run end to end through the runtime (asyncio and trio).

LLM mode runs against a fake OpenAI-compatible server on loopback (the fakes of
tests/nodes/llm) that answers with scripted revisions of the code.
"""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path
from typing import Any

import pytest

import nodes
from nodes.analysis import review_code
from nodes.llm import OfflineProvider
from nodes.llm_node import use_provider
from nodes.tools import CODE_REVIEW_TOOLS, register_tools
from nodes.workflows import SEED_GRAPH, build_code_review_graph, code_review_json
from runtime import Event, EventType, Graph, RunFailed, Runtime, WorkflowState, registry
from tests.nodes.llm.llm_fake_servers import FakeOpenAI, Recorded, make_provider, serving

STDLIB = Path(sysconfig.get_paths()["stdlib"])
HELLO = "def hello():\n    pass"



async def review(data: dict[str, Any], graph: Graph | None = None) -> tuple[WorkflowState, list[Event]]:
    async with Runtime() as rt:
        run = await rt.start(graph or build_code_review_graph(), data)
        state = await run.result()
        events = [e async for e in run.events(0)]
    return state, events


class FakeReviser(FakeOpenAI):
    """An OpenAI-compatible server whose answers are scripted revisions of the code."""

    def __init__(self, revisions: list[str]) -> None:
        super().__init__()
        self.revisions = list(revisions)

    def answer(self, request: Recorded) -> tuple[int, Any]:
        status, body = super().answer(request)
        if status == 200:
            body["choices"][0]["message"]["content"] = (
                "Here is the revised code:\n```python\n" + self.revisions.pop(0) + "```\n"
            )
        return status, body


# -- offline (rules) ----------------------------------------------------------------------


async def test_seed_example_gives_a_score_and_the_add_docstring_suggestion() -> None:
    state, _ = await review({"code": HELLO, "use_llm": False})
    data = state.data
    assert data["quality_score"] == 98
    assert any(s.startswith("Add docstring to `hello`") for s in data["suggestions"])
    assert data["complexity"] == {"hello": 1}
    assert [f["qualname"] for f in data["functions"]] == ["hello"]
    assert data["iterations"] == 1 and data["score_history"] == [98]
    assert data["report"]["status"] == "ok"
    assert data["report"]["quality_score"] == 98
    assert state.errors == []


async def test_seed_json_graph_runs_unchanged_and_reports_score_and_suggestions() -> None:
    graph = Graph.from_json(SEED_GRAPH)
    state, _ = await review({"code": HELLO, "use_llm": False}, graph)
    assert state.data["quality_score"] == 98
    assert any("Add docstring" in s for s in state.data["suggestions"])
    assert state.data["complexity"] == {"hello": 1}


async def test_map_runs_analyze_function_once_per_function_with_its_index() -> None:
    code = (
        "def a():\n    '''A.'''\n\n"
        "class C:\n    '''C.'''\n    def m(self, x):\n        '''M.'''\n"
        "        return [y for y in x if y]\n\n"
        "key = lambda v: v\n"
    )
    state, events = await review({"code": code})
    done = [e for e in events
            if e.type is EventType.NODE_COMPLETED and e.node == "analyze_function"]
    assert sorted(e.data["index"] for e in done) == [0, 1, 2]
    assert state.data["complexity"] == {"a": 1, "C.m": 3, "key": 1}
    joins = [e for e in events
             if e.type is EventType.NODE_COMPLETED and e.node == "calculate_complexity"]
    assert len(joins) == 1  # the map's own edges are followed once, after every item


@pytest.mark.parametrize("module", ["difflib.py", "argparse.py", "textwrap.py", "ast.py"])
async def test_workflow_finds_what_the_whole_module_review_finds(module: str) -> None:
    code = (STDLIB / module).read_text(encoding="utf-8")
    state, _ = await review({"code": code})
    expected = review_code(code)
    assert state.data["issues"] == expected["issues"]
    assert state.data["complexity"] == expected["complexity"]
    assert state.data["quality_score"] == expected["quality_score"]
    assert state.data["suggestions"] == expected["suggestions"]


async def test_a_2000_line_stdlib_module_reviews_offline() -> None:
    code = (STDLIB / "difflib.py").read_text(encoding="utf-8")
    assert len(code.splitlines()) > 2000
    state, events = await review({"code": code})
    report = state.data["report"]
    assert len(report["functions"]) > 40
    assert 0 <= report["quality_score"] <= 100
    assert report["iterations"] == 1
    mapped = [e for e in events
              if e.type is EventType.NODE_COMPLETED and e.node == "analyze_function"]
    assert len(mapped) == len(report["functions"])


async def test_rules_mode_stops_after_one_pass_even_below_the_threshold() -> None:
    state, _ = await review({"code": HELLO, "quality_threshold": 100, "max_iterations": 3})
    assert state.data["iterations"] == 1
    assert state.data["score_history"] == [98]
    assert state.data["report"]["passed"] is False


async def test_thresholds_are_configurable_per_run() -> None:
    code = "def f(a, b):\n    '''Doc.'''\n    return a, b\n"
    default, _ = await review({"code": code})
    strict, _ = await review({"code": code, "thresholds": {"max_params": 1}})
    assert default.data["issues"] == []
    assert [i["rule_id"] for i in strict.data["issues"]] == ["AF104"]


async def test_code_that_does_not_parse_gives_a_report_naming_line_and_column() -> None:
    state, _ = await review({"code": "def ok():\n    pass\ndef broken(:\n    pass\n"})
    report = state.data["report"]
    assert report["status"] == "error"
    assert report["syntax_error"]["line"] == 3
    assert report["syntax_error"]["column"] is not None
    assert len(state.errors) == 1
    assert re.search(r"CodeSyntaxError: cannot parse code at line 3, column \d+", state.errors[0])


async def test_without_an_error_edge_a_syntax_error_fails_the_run_naming_line_and_column() -> None:
    with pytest.raises(RunFailed, match=r"line 1, column \d+") as info:
        await review({"code": "def (:"}, Graph.from_json(SEED_GRAPH))
    assert info.value.node == "extract"


async def test_bad_thresholds_are_reported_by_name() -> None:
    state, _ = await review({"code": HELLO, "thresholds": {"max_paramz": 2}})
    assert state.data["report"]["status"] == "error"
    assert "max_paramz" in state.errors[0]


async def test_the_graph_json_loads_back_and_runs() -> None:
    graph = Graph.from_json(code_review_json())
    state, _ = await review({"code": HELLO}, graph)
    assert state.data["quality_score"] == 98


def test_tools_are_registered_idempotently_under_the_seed_names() -> None:
    register_tools()
    register_tools()
    graphs = nodes.register_all()
    assert [g.name for g in graphs] == ["code_review", "summarization", "financial_analysis"]
    for graph in graphs:
        graph.compile()
    for name in CODE_REVIEW_TOOLS:
        assert name in registry
    assert registry.get("calculate_complexity").description


# -- with an LLM ----------------------------------------------------------------------------

UNUSED_ARG = "def hello(name):\n    return 1\n"  # AF103 (no docstring) + AF109 (unused argument)
WITH_DOC = 'def hello(name):\n    """Greet."""\n    return 1\n'  # AF109 only
CLEAN = 'def hello(name):\n    """Greet."""\n    return name\n'


async def test_llm_revision_is_reanalysed_each_iteration_and_every_score_kept() -> None:
    server = FakeReviser([WITH_DOC, CLEAN])
    async with serving(server) as url, make_provider("openai", url) as provider:
        with use_provider(provider):
            state, events = await review(
                {"code": UNUSED_ARG, "use_llm": True, "quality_threshold": 100})
    data = state.data
    assert data["score_history"] == [96, 98, 100]
    assert data["iterations"] == 3
    assert data["code"] == CLEAN and data["original_code"] == UNUSED_ARG
    assert data["issues"] == [] and data["report"]["revised"] is True
    # Two calls: the clean third pass has nothing to fix. Usage comes from the server.
    assert len(server.requests) == 2
    usage = data["llm_usage"]
    assert [u["purpose"] for u in usage] == ["revise", "revise"]
    assert all(u["provider"] == "openai" and u["total_tokens"] > 0 for u in usage)
    assert all(u["cost_usd"] > 0 for u in usage)
    assert data["report"]["llm"]["calls"] == 2
    assert data["report"]["llm"]["total_tokens"] == sum(u["total_tokens"] for u in usage)
    logged = [e for e in events if e.type is EventType.LOG and "llm" in e.data]
    assert [e.data["llm"] for e in logged] == usage
    assert "```python" in server.requests[0].body["messages"][-1]["content"]


async def test_llm_loop_stops_at_max_iterations() -> None:
    server = FakeReviser([WITH_DOC, CLEAN])
    async with serving(server) as url, make_provider("openai", url) as provider:
        with use_provider(provider):
            state, _ = await review({"code": UNUSED_ARG, "use_llm": True,
                                     "quality_threshold": 100, "max_iterations": 2})
    assert state.data["score_history"] == [96, 98]
    assert state.data["iterations"] == 2


async def test_llm_revision_that_does_not_parse_is_not_used() -> None:
    server = FakeReviser(["def hello(name:\n    return 1\n"])
    async with serving(server) as url, make_provider("openai", url) as provider:
        with use_provider(provider):
            state, _ = await review({"code": UNUSED_ARG, "use_llm": True,
                                     "quality_threshold": 100})
    assert state.data["iterations"] == 1
    assert state.data["code"] == UNUSED_ARG
    assert len(state.warnings) == 1 and "does not parse" in state.warnings[0]


async def test_offline_provider_proposes_no_change_so_the_loop_stops() -> None:
    with use_provider(OfflineProvider()):
        state, _ = await review({"code": HELLO, "use_llm": True, "quality_threshold": 100})
    assert state.data["iterations"] == 1
    assert state.data["revised"] is False
    assert len(state.data["llm_usage"]) == 1
    assert "unchanged" in state.warnings[0]


# -- approval (human in the loop) -------------------------------------------------------------


async def test_with_require_approval_the_run_asks_before_applying_a_revision(
        tmp_path: Path) -> None:
    from runtime import RunWaiting

    server = FakeReviser([WITH_DOC, CLEAN])
    async with serving(server) as url, make_provider("openai", url) as provider:
        with use_provider(provider):
            async with Runtime(f"sqlite:///{tmp_path / 'review.db'}") as rt:
                run = await rt.start(build_code_review_graph(), {
                    "code": UNUSED_ARG, "use_llm": True, "quality_threshold": 100,
                    "require_approval": True})
                with pytest.raises(RunWaiting) as first:
                    await run.result()
                [question] = first.value.interrupts
                assert question["node"] == "approve_revision"
                assert question["payload"]["revised_code"] == WITH_DOC
                assert question["payload"]["question"] == "apply the suggested revision?"
                # Approve the first revision: the second pass reviews it and asks again.
                run = await rt.resume(run.id, {"approved": True, "comment": "good"})
                with pytest.raises(RunWaiting):
                    await run.result()
                # Reject the second: no third pass, straight to the report.
                run = await rt.resume(run.id, {"approved": False})
                state = await run.result()
    data = state.data
    assert data["score_history"] == [96, 98]
    assert data["code"] == WITH_DOC
    assert [a["approved"] for a in data["approvals"]] == [True, False]
    assert data["report"]["status"] == "ok"


async def test_an_approval_answer_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    from runtime import InvalidResume, RunWaiting

    server = FakeReviser([WITH_DOC])
    async with serving(server) as url, make_provider("openai", url) as provider:
        with use_provider(provider):
            async with Runtime(f"sqlite:///{tmp_path / 'review.db'}") as rt:
                run = await rt.start(build_code_review_graph(), {
                    "code": UNUSED_ARG, "use_llm": True, "quality_threshold": 100,
                    "require_approval": True, "max_iterations": 2})
                with pytest.raises(RunWaiting):
                    await run.result()
                with pytest.raises(InvalidResume) as info:
                    await rt.resume(run.id, {"approved": "perhaps"})
                assert info.value.details[0]["path"] == "approved"
