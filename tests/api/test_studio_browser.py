"""The Studio in a real browser: headless Chromium against a real ``actorflow serve``.

One server for the module (the tests create their own graphs, with their own names);
one browser context per test, whose console must stay free of errors. Each test leaves
a screenshot in tests/artifacts/ (``studio-<test>.png``) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser import ARTIFACTS, chromium
from _server import ACTORFLOW, server, sqlite_url

pytestmark = pytest.mark.slow

#: Milliseconds Playwright waits for something to appear (a ceiling, not a timing
#: assertion: the loaded CI machine can be slow).
WAIT = 30_000

#: Records every state each graph node shows, in order, so a test can tell that a node
#: changed colour while the page watched (a MutationObserver on ``data-state``).
_RECORD_STATES = """
window.__states = {};
new MutationObserver((changes) => {
  for (const c of changes) {
    const el = c.target;
    if (el.dataset && el.dataset.node) (window.__states[el.dataset.node] ||= []).push(el.dataset.state);
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-state"]});
"""

XSS_IMG = '<img src=x onerror="window.__xss_hit=1">'
XSS_SCRIPT = "<script>window.__xss_hit=2</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The module's server (asyncio): pages that only read and write through HTTP."""
    tmp = tmp_path_factory.mktemp("studio")
    with server("asyncio", sqlite_url(tmp), tmp) as srv:
        yield srv.url


@pytest.fixture(scope="module", params=["asyncio", "trio"])
def run_base(request: pytest.FixtureRequest, base: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server per backend for the run views, whose live feed differs by backend."""
    if request.param == "asyncio":
        yield base
        return
    tmp = tmp_path_factory.mktemp(f"studio-{request.param}")
    with server(request.param, sqlite_url(tmp), tmp) as srv:
        yield srv.url


def _open(browser: Any, request: pytest.FixtureRequest, width: int = 1280,
          height: int = 800) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.add_init_script(_RECORD_STATES)
    page.console_errors = []
    page.allowed_console = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
    return context, page


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A 1280x800 page; at the end, a screenshot and no console errors."""
    context, page = _open(browser, request)
    try:
        yield page
        _no_console_errors(page)
    finally:
        _screenshot(page, request.node.name)
        context.close()


def _no_console_errors(page: Any) -> None:
    errors = [e for e in page.console_errors
              if not any(re.search(p, e) for p in page.allowed_console)]
    assert not errors, f"console errors: {errors}"


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"studio-{name}.png"), full_page=True)


# -- helpers over the public API ------------------------------------------------------

def _create(base: str, graph: dict[str, Any]) -> str:
    response = httpx.post(base + "/api/v1/graph/create", json=graph, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["graph_id"])


def _run(base: str, graph_id: str, initial: dict[str, Any] | None = None, *,
         until: str | None = "stopped") -> str:
    response = httpx.post(base + "/api/v1/graph/run", timeout=30,
                          json={"graph_id": graph_id, "initial_state": initial or {}})
    assert response.status_code == 202, response.text
    run_id = str(response.json()["run_id"])
    if until:
        httpx.get(f"{base}/api/v1/runs/{run_id}/wait?timeout=30", timeout=40)
    return run_id


def _state(base: str, run_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/api/v1/graph/state/{run_id}", timeout=30).json())


def _approval_graph(name: str) -> dict[str, Any]:
    return {"name": name, "nodes": [
        {"name": "draft", "tool": "set", "config": {"values": {"draft": "Release notes"}}},
        {"name": "approve", "tool": "ask",
         "config": {"question": "Publish this draft?", "show": ["draft"], "key": "approved"}},
        {"name": "publish", "tool": "set", "config": {"values": {"published": True}}},
    ], "edges": [{"from": "draft", "to": "approve"},
                 {"from": "approve", "to": "publish", "condition": "approved == true"},
                 {"from": "approve", "to": "__end__"}], "entry_point": "draft"}


def _drag(page: Any, source: Any, target: Any) -> None:
    """Press on ``source``, move in steps onto ``target``, release (pointer events)."""
    source.scroll_into_view_if_needed()
    a = source.bounding_box()
    b = target.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=12)
    page.mouse.up()


# -- pages load, from this origin only -------------------------------------------------

def test_studio_at_root_lists_graphs_and_loads_nothing_from_other_hosts(page: Any, base: str) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    # Anything not from this server would fail as it would with the cable pulled.
    page.route(re.compile(r"^(?!" + re.escape(base) + ").*"), lambda route: route.abort())
    page.goto(base + "/")
    page.get_by_role("link", name="code_review").wait_for()
    page.get_by_label("Search").fill("summar")
    page.get_by_role("link", name="summarization").wait_for()
    assert page.get_by_role("link", name="code_review").count() == 0
    page.goto(base + "/studio#/graphs/code_review")
    page.locator('svg.graph [data-node="analyze_function"]').wait_for()
    assert page.locator(".edge.kind-map").count() >= 1
    assert page.locator(".edge.kind-error").count() >= 1
    assert page.locator(".edge.kind-cond .edge-label").count() >= 1
    assert page.locator('[data-node="__end__"]').count() == 1
    assert '"name": "code_review"' in page.locator("pre.json").inner_text()
    foreign = [u for u in requested if not u.startswith(base + "/")]
    assert not foreign


def test_graph_json_exports_and_imports_as_a_new_graph(page: Any, base: str) -> None:
    _create(base, _approval_graph("export_me"))
    page.goto(base + "/#/graphs/export_me")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(open(download.value.path()).read())
    assert exported["name"] == "export_me" and len(exported["nodes"]) == 3
    exported["name"] = "imported_copy"
    page.goto(base + "/#/graphs")
    page.get_by_text("Import a graph from JSON").click()
    page.get_by_label("Graph JSON").fill(json.dumps(exported))
    page.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="imported_copy").wait_for()
    stored = httpx.get(base + "/api/v1/graph/imported_copy").json()
    assert stored["edges"] == exported["edges"]


# -- the editor -----------------------------------------------------------------------

def test_build_a_graph_by_drag_and_drop_and_save_it(page: Any, base: str) -> None:
    page.goto(base + "/#/editor")
    canvas = page.locator(".canvas")
    _drag(page, page.locator('[data-tool="set"]'), canvas)
    page.locator('[data-node="set"]').wait_for()
    page.locator('[data-config-field="set.values"]').fill('{"greeting": "hi"}')
    _drag(page, page.locator('[data-tool="delay"]'), canvas)
    page.locator('[data-node="delay"]').wait_for()
    page.locator('[data-config-field="delay.seconds"]').fill("0.5")
    _screenshot(page, "editor")
    _drag(page, page.locator('[data-connect="set"]'), page.locator('[data-node="delay"] rect'))
    page.locator('.edge[data-from="set"][data-to="delay"]').wait_for(state="attached")
    page.get_by_role("button", name="Graph settings").click()
    page.get_by_label("Name").fill("built_by_dragging")
    page.get_by_text("The graph is valid.").wait_for()
    page.get_by_role("button", name="Save as new graph").click()
    page.get_by_role("heading", name="built_by_dragging").wait_for()
    stored = httpx.get(base + "/api/v1/graph/built_by_dragging").json()
    assert [(n["name"], n["tool"]) for n in stored["nodes"]] == [("set", "set"), ("delay", "delay")]
    assert stored["nodes"][0]["config"] == {"values": {"greeting": "hi"}}
    assert stored["nodes"][1]["config"] == {"seconds": 0.5}
    assert stored["edges"] == [{"from": "set", "to": "delay"}]
    assert stored["entry_point"] == "set"


def test_a_condition_is_checked_as_you_type_and_problems_show_on_the_canvas(page: Any, base: str) -> None:
    gid = _create(base, _approval_graph("to_edit"))
    page.goto(base + f"/#/editor/{gid}")
    page.locator('.edge[data-edge="1"] .edge-hit').click(force=True)
    condition = page.locator('[data-condition="1"]')
    condition.fill("approved == true and (")
    page.locator('.edge[data-edge="1"].problem').wait_for(state="attached")
    problem = page.locator("[data-condition-problems] .note-error")
    problem.wait_for()
    assert re.search(r"column \d+", problem.inner_text())
    assert condition.get_attribute("aria-invalid") == "true"
    condition.fill("approved == true")
    page.get_by_text("The graph is valid.").wait_for()
    assert page.locator(".edge.problem").count() == 0
    # An unknown tool is shown at its node; a save is refused with every problem.
    page.locator('[data-node="publish"]').click()
    values = page.locator('[data-config-field="publish.values"]')
    values.fill("[1]")   # the schema says an object: refused before it reaches the graph
    assert values.get_attribute("aria-invalid") == "true"
    assert "values must be a JSON object" in page.locator(".inspector").inner_text()
    page.get_by_role("button", name="Graph settings").click()
    page.get_by_text("Import JSON into the editor").click()
    graph = _approval_graph("to_edit_v9")
    graph["nodes"][2]["tool"] = "sett"
    page.get_by_label("graph JSON to import").fill(json.dumps(graph))
    page.get_by_role("button", name="Load into the editor").click()
    page.locator('[data-node="publish"].problem').wait_for()
    assert "did you mean 'set'" in page.locator(".problems").inner_text()
    page.get_by_role("button", name="Save as new graph").click()
    page.get_by_text("is invalid (1 problem(s))").wait_for()
    assert httpx.get(base + "/api/v1/graph/to_edit_v9").status_code == 404
    page.allowed_console = [r"status of 400"]


def test_start_and_end_spelled_as_in_the_readme_are_read_as_the_server_reads_them(
        page: Any, base: str) -> None:
    page.goto(base + "/#/editor")
    page.get_by_text("Import JSON into the editor").click()
    # The README's JSON form: "START" and "END", which the server stores as the entry
    # point and "__end__"; the condition has a problem, shown at its edge.
    graph = {"name": "readme_terminals", "nodes": [
        {"name": "a", "tool": "set", "config": {"values": {"x": 1}}}],
        "edges": [{"from": "START", "to": "a"}, {"from": "a", "to": "END", "condition": "x >> ("}]}
    page.get_by_label("graph JSON to import").fill(json.dumps(graph))
    page.get_by_role("button", name="Load into the editor").click()
    page.locator('.edge[data-from="a"][data-to="__end__"].problem').wait_for(state="attached")
    assert page.locator(".node.kind-missing").count() == 0
    assert page.locator('[data-node="START"], [data-node="END"]').count() == 0
    assert page.locator('[data-node="__end__"].kind-end').count() == 1
    assert "entry" in page.locator('[data-node="a"]').get_attribute("class").split()
    assert page.locator(".edge").count() == 1      # START is the entry point, not an edge
    problems = page.locator(".problems [data-problem]")
    assert problems.evaluate_all("ps => ps.map(p => p.dataset.problem)") == ["edge 1"]
    assert re.search(r"edge a->__end__.*column \d+|column", problems.inner_text()), problems.inner_text()
    _screenshot(page, "editor-readme-terminals")
    page.locator('.edge[data-edge="0"] .edge-hit').click(force=True)
    page.locator("[data-condition-problems] .note-error").wait_for()
    page.locator('[data-condition="0"]').fill("x == 1")
    page.get_by_text("The graph is valid.").wait_for()
    page.get_by_role("button", name="Save as new graph").click()
    page.get_by_role("heading", name="readme_terminals").wait_for()
    stored = httpx.get(base + "/api/v1/graph/readme_terminals").json()
    assert stored["edges"] == [{"from": "a", "to": "__end__", "condition": "x == 1"}]
    assert stored["entry_point"] == "a"
    # Two edges from START are kept for the server to refuse, drawn from a START terminal.
    page.goto(base + "/#/editor")
    page.get_by_text("Import JSON into the editor").click()
    graph = {"name": "two_starts", "nodes": [
        {"name": "a", "tool": "set"}, {"name": "b", "tool": "set"}],
        "edges": [{"from": "START", "to": ["a", "b"]}, {"from": ["a", "b"], "to": "END"}]}
    page.get_by_label("graph JSON to import").fill(json.dumps(graph))
    page.get_by_role("button", name="Load into the editor").click()
    page.get_by_text("a graph has one entry point").wait_for()
    assert page.locator('[data-node="__start__"].kind-start').count() == 1
    assert page.locator('[data-node="__end__"].kind-end').count() == 1
    assert page.locator(".node.kind-missing").count() == 0


def test_save_as_new_version_stores_name_v2_beside_the_original(page: Any, base: str) -> None:
    gid = _create(base, _approval_graph("versioned"))
    page.goto(base + f"/#/editor/{gid}")
    page.locator('[data-node="approve"]').click()
    page.get_by_label("Timeout (seconds)").fill("12")
    page.get_by_label("Timeout (seconds)").press("Tab")
    page.get_by_label("Ask before running (interrupt before)").check()
    page.get_by_text("The graph is valid.").wait_for()
    page.get_by_role("button", name="Save as new version").click()
    page.get_by_role("heading", name="versioned_v2").wait_for()
    assert "null" not in page.locator("main").inner_text()   # no description, no "null"
    node = httpx.get(base + "/api/v1/graph/versioned_v2").json()["nodes"][1]
    assert (node["timeout"], node["interrupt_before"]) == (12, True)
    assert httpx.get(base + "/api/v1/graph/versioned").json()["nodes"][1].get("timeout") is None


# -- runs -----------------------------------------------------------------------------

def test_a_run_colours_its_nodes_live_and_its_question_is_answered_in_a_form(page: Any, run_base: str) -> None:
    gid = _create(run_base, _approval_graph("live_approval"))
    run_id = _run(run_base, gid)
    assert _state(run_base, run_id)["status"] == "waiting"
    page.goto(run_base + f"/#/runs/{run_id}")
    page.locator('[data-node="approve"][data-state="waiting"]').wait_for()
    assert page.locator('[data-node="draft"]').get_attribute("data-state") == "done"
    assert page.locator('[data-node="publish"]').get_attribute("data-state") == "pending"
    form = page.locator(".interrupt")
    assert "Publish this draft?" in form.inner_text()
    assert "Release notes" in form.inner_text()
    _screenshot(page, "run-waiting")
    before = page.evaluate("window.__states")
    form.get_by_role("button", name="Yes").click()
    page.locator('[data-node="publish"][data-state="done"]').wait_for()
    page.locator("h1 .status-completed").wait_for()
    # After the answer, the page saw approve turn from waiting to done, and publish from
    # pending (it had shown nothing else) to done.
    after = page.evaluate("window.__states")
    assert before["approve"][-1] == "waiting" and "publish" not in before, before
    assert after["approve"][len(before["approve"]):][-1] == "done", after
    assert after["publish"][-1] == "done", after
    assert _state(run_base, run_id)["current_state"]["published"] is True
    # The history: the input, the draft, the answer (recorded as a step of its own
    # before the run went on), then the nodes after it.
    steps = page.get_by_label("from step").locator("option")
    page.get_by_label("from step").locator("option", has_text="(publish)").wait_for(
        state="attached")
    assert steps.all_inner_texts() == [
        "step 0 (input)", "step 1 (draft)", "step 2 (answer)", "step 3 (approve)",
        "step 4 (publish)"]


def test_parallel_branches_run_side_by_side_and_overlap_on_the_timeline(page: Any, run_base: str) -> None:
    gid = _create(run_base, {"name": "two_slow_branches", "nodes": [
        {"name": "start", "tool": "set", "config": {"values": {"n": 0}}},
        {"name": "left", "tool": "delay", "config": {"seconds": 2}},
        {"name": "right", "tool": "delay", "config": {"seconds": 2}},
        {"name": "join", "tool": "set", "config": {"values": {"joined": True}}},
    ], "edges": [{"from": "start", "to": ["left", "right"]},
                 {"from": ["left", "right"], "to": "join"}]})
    run_id = _run(run_base, gid, until=None)
    page.goto(run_base + f"/#/runs/{run_id}")
    # Both branches show as running at once while they wait (2 s each), then done.
    page.locator('[data-node="left"][data-state="running"]').wait_for()
    page.locator('[data-node="right"][data-state="running"]').wait_for()
    assert page.locator('[data-node="join"]').get_attribute("data-state") == "pending"
    page.locator("h1 .status-completed").wait_for()
    page.locator('[data-node="join"][data-state="done"]').wait_for()
    page.locator(".timeline .bar").nth(3).wait_for()
    lanes = {page.locator(f'.timeline .bar[data-bar-node="{n}"]').get_attribute("data-lane")
             for n in ("left", "right")}
    assert lanes == {"0", "1"}
    assert page.locator('[data-node="join"].join').count() == 1
    assert page.locator(".edge.kind-parallel").count() == 2


def test_a_failed_run_shows_its_error_node_and_attempt(page: Any, run_base: str) -> None:
    gid = _create(run_base, {"name": "fails_twice", "nodes": [
        {"name": "first", "tool": "set", "config": {"values": {"x": 1}}},
        {"name": "boom", "tool": "fail", "config": {"message": "the disk is full"},
         "retry": {"max_attempts": 2, "initial_delay": 0}},
    ], "edges": [{"from": "first", "to": "boom"}]})
    run_id = _run(run_base, gid)
    page.goto(run_base + f"/#/runs/{run_id}")
    box = page.get_by_role("alert", name="run failed")
    box.get_by_text("at node boom, attempt 2").wait_for()   # once the feed has told
    assert "at node boom, attempt 2" in box.inner_text()
    assert "the disk is full" in box.inner_text()
    node = page.locator('[data-node="boom"]')
    assert node.get_attribute("data-state") == "failed"
    assert "retried 1 time" in node.get_attribute("aria-label")
    assert "retried" in node.get_attribute("class").split()
    assert node.locator(".badge").text_content() == "↻1 ×2"
    _screenshot(page, "run-failed")
    page.goto(run_base + "/#/runs?status=failed")
    page.locator(f'tr[data-run="{run_id}"]').wait_for()
    statuses = page.locator("#run-list .status").all_inner_texts()
    assert statuses and set(statuses) == {"failed"}


def test_history_slider_diff_and_fork_from_a_step_with_edited_values(page: Any, run_base: str) -> None:
    graph = json.loads(open("nodes/examples/graphs/count_to_three.json").read())
    graph["name"] = "count_for_fork"
    gid = _create(run_base, graph)
    run_id = _run(run_base, gid, {"count": 0, "limit": 3})
    page.goto(run_base + f"/#/runs/{run_id}")
    slider = page.get_by_label("Checkpoint")
    slider.wait_for()
    slider.focus()
    page.keyboard.press("Home")
    # Step 0 is the input, before any node ran; the next is the first node's.
    page.get_by_text("step 0 of 4: the input").wait_for()
    assert "count: 0" in page.locator(".tree").inner_text()
    _screenshot(page, "history-step-0")
    assert page.get_by_label("from step").locator("option").first.inner_text() == "step 0 (input)"
    page.keyboard.press("ArrowRight")
    page.get_by_text("step 1 of 4: after step").wait_for()
    assert "count: 1" in page.locator(".tree").inner_text()
    diff = page.locator("table.diff").inner_text()
    assert "finished" in diff and "added" in diff
    page.get_by_label("state values to edit").fill(
        json.dumps({"count": 1, "limit": 5}))
    page.get_by_role("button", name="Fork from this step").click()
    page.wait_for_url(re.compile(r"#/runs/(?!" + run_id + ")"))
    page.locator("h1 .status-completed").wait_for()
    fork_id = page.url.rsplit("/", 1)[1]
    assert _state(run_base, fork_id)["current_state"]["count"] == 5
    assert _state(run_base, run_id)["current_state"]["count"] == 3


#: For each cell: its text and how many lines it is drawn on (the distinct tops of the
#: line boxes of its contents), and whether its content overflows it.
_LINES = """cells => cells.map(c => {
  const r = document.createRange();
  r.selectNodeContents(c);
  const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
  return [c.textContent, tops.size, c.scrollWidth <= c.clientWidth];
})"""


def test_the_difference_between_two_steps_keeps_paths_whole_beside_long_values(
        browser: Any, base: str, request: pytest.FixtureRequest) -> None:
    # As a financial analysis's state: long texts and dicts under keys, changed by a
    # later step, which squeezed the path and change columns to a letter per line.
    text = " ".join(["the 50-day moving average crossed above the 200-day average on rising volume"] * 8)
    report = {"summary": text, "ratios": {"price_to_earnings": 23.5, "debt_to_equity": 0.41},
              "notes": [text[:300]] * 4}
    gid = _create(base, {"name": "long_state_values", "nodes": [
        {"name": "gather", "tool": "set", "config": {"values": {
            "technical": text, "fundamental_analysis": report, "n": 1}}},
        {"name": "wait", "tool": "delay", "config": {"seconds": 0}},
        {"name": "revise", "tool": "set", "config": {"values": {
            "technical": text.upper(), "sentiment": {"headlines": [text] * 3},
            "fundamental_analysis": {**report, "ratios": {"price_to_earnings": 24.1,
                                                          "debt_to_equity": 0.41}}}}},
    ], "edges": [{"from": "gather", "to": "wait"}, {"from": "wait", "to": "revise"}]})
    run_id = _run(base, gid)
    assert _state(base, run_id)["status"] == "completed"
    context, page = _open(browser, request, width=1400, height=900)
    try:
        page.goto(base + f"/#/runs/{run_id}")
        start = page.get_by_label("from step")
        start.select_option(start.locator("option", has_text="(gather)").get_attribute("value"))
        page.locator("table.diff td", has_text="changed").first.wait_for()
        for width in (1400, 1920, 390):   # the last: a phone, the table scrolls in its box
            page.set_viewport_size({"width": width, "height": 900})
            _screenshot(page, f"run-diff-{width}")
            paths = page.locator("table.diff tbody td:first-child").evaluate_all(_LINES)
            assert {p for p, _, _ in paths} >= {
                "technical", "sentiment", "fundamental_analysis.ratios.price_to_earnings"}, paths
            for cell in ("thead th", "tbody td:first-child", "tbody td:nth-child(2)"):
                drawn = page.locator(f"table.diff {cell}").evaluate_all(_LINES)
                squeezed = [(t, lines, fits) for t, lines, fits in drawn if lines != 1 or not fits]
                assert not squeezed, f"at {width} px: {squeezed}"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"at {width} px the page is {overflow}px wider than the screen"
        _no_console_errors(page)
    finally:
        context.close()


def test_a_waiting_run_is_edited_cancelled_and_replayed_from_its_page(page: Any, run_base: str) -> None:
    gid = _create(run_base, _approval_graph("edit_cancel_replay"))
    run_id = _run(run_base, gid)
    page.goto(run_base + f"/#/runs/{run_id}")
    page.locator(".interrupt").wait_for()
    page.get_by_text("step 1 of 1").wait_for()
    page.get_by_label("state values to edit").fill(json.dumps({"draft": "Edited notes"}))
    # Meanwhile another client edits the run, twice: the page learns of each new
    # checkpoint and keeps the step and the text being typed through every redraw.
    for n, by in ((2, "api"), (3, "api again")):
        other = httpx.post(f"{run_base}/api/v1/runs/{run_id}/state", json={"values": {"by": by}})
        assert other.status_code == 200, other.text
        page.get_by_text(f"step 1 of {n}").wait_for()
        assert "Edited notes" in page.get_by_label("state values to edit").input_value()
    page.get_by_role("button", name="Edit this run's state").click()
    page.get_by_text("Saved as step 4.").wait_for()
    state = _state(run_base, run_id)["current_state"]
    assert (state["draft"], state["by"]) == ("Edited notes", "api again")
    page.get_by_role("button", name="Cancel run").click()
    page.locator("h1 .status-cancelled").wait_for()
    assert _state(run_base, run_id)["status"] == "cancelled"
    page.get_by_role("button", name="Replay").click()
    page.wait_for_url(re.compile(r"#/runs/(?!" + run_id + ")"))
    page.locator('[data-node="approve"][data-state="waiting"]').wait_for()
    replay_id = page.url.rsplit("/", 1)[1]
    assert _state(run_base, replay_id)["status"] == "waiting"


def test_a_run_of_1000_node_executions_is_drawn_whole(page: Any, base: str) -> None:
    # The time this takes is `make bench`'s studio_render_ms, not asserted here.
    from bench_studio_graph import EXECUTIONS, LOOP

    gid = _create(base, LOOP)
    run_id = _run(base, gid, {"count": 0})
    assert _state(base, run_id)["status"] == "completed"
    page.goto(base + f"/#/runs/{run_id}")
    page.locator('main[data-feed="complete"]').wait_for()
    assert page.locator(".timeline .bar").count() == EXECUTIONS
    assert f"{EXECUTIONS} node executions" in page.locator(".timeline-wrap").inner_text()
    assert page.locator('[data-node="step"]').get_attribute("data-state") == "done"
    assert f"ran {EXECUTIONS - 1} times" in page.locator('[data-node="step"]').get_attribute("aria-label")
    assert page.locator("table.log tbody tr").count() == 400   # the last 400 drawn
    # The replay's intermediate "running" never stood for the finished run's status.
    assert page.locator("h1 .status").inner_text() == "completed"
    assert page.get_by_role("button", name="Edit this run's state").is_enabled()
    assert re.search(r"the last 400 of 3\d{3} events", page.locator("main").inner_text())


# -- sturdy and accessible ------------------------------------------------------------

def test_nothing_from_the_api_is_inserted_as_html(page: Any, base: str) -> None:
    gid = _create(base, {"name": f"xss {XSS_IMG}", "description": XSS_SCRIPT, "nodes": [
        {"name": "n<b>1</b>", "tool": "set", "config": {"values": {"html": XSS_SCRIPT}}},
    ], "edges": [{"from": "n<b>1</b>", "to": "__end__", "condition": f"html != '{XSS_IMG}'"}]})
    run_id = _run(base, gid, {"payload": XSS_IMG, XSS_SCRIPT: XSS_IMG})
    for url in ("/#/graphs", f"/#/graphs/{gid}", f"/#/runs/{run_id}", "/#/runs", f"/#/editor/{gid}"):
        page.goto(base + url)
        page.get_by_text(XSS_IMG).first.wait_for()
        assert page.locator("main img, main script, main b").count() == 0, url
    page.goto(base + f"/#/runs/{run_id}")
    page.locator("h1 .status-completed").wait_for()
    page.get_by_text(XSS_SCRIPT).first.wait_for()   # the state tree and the event log
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("window.__xss_hit") is None


def test_main_views_work_from_the_keyboard(page: Any, base: str) -> None:
    page.goto(base + "/#/graphs")
    page.get_by_role("link", name="code_review").wait_for()
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Runs":
            break
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Runs").wait_for()
    page.goto(base + "/#/editor")
    page.locator('[data-tool="delay"]').focus()
    page.keyboard.press("Enter")
    page.locator('[data-node="delay"]').wait_for()
    assert page.evaluate("document.activeElement.dataset.node") == "delay"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Node delay").wait_for()
    page.get_by_role("button", name="Graph settings").click()
    page.get_by_role("button", name="Add edge").click()          # delay -> END
    page.get_by_role("button", name="edge delay to __end__").first.focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Edge 1").wait_for()
    gid = _create(base, _approval_graph("keyboard_run"))
    run_id = _run(base, gid)
    page.goto(base + f"/#/runs/{run_id}")
    page.locator('[data-node="draft"][data-state="done"]').focus()
    page.keyboard.press("Enter")
    assert page.get_by_label("node name").input_value() == "draft"


@pytest.mark.parametrize("view", ["graphs", "graph", "editor", "runs", "run"])
def test_pages_fit_a_phone_width_screen(browser: Any, base: str, view: str,
                                        request: pytest.FixtureRequest) -> None:
    context, page = _open(browser, request, width=390, height=844)
    try:
        gid = _create(base, _approval_graph(f"phone_{view}"))
        url = {"graphs": "#/graphs", "graph": f"#/graphs/{gid}", "editor": f"#/editor/{gid}",
               "runs": "#/runs", "run": f"#/runs/{_run(base, gid)}"}[view]
        page.goto(f"{base}/{url}")
        page.locator("main h1").wait_for()
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view} is {overflow}px wider than the screen"
        if view == "run":
            # The event log's seq, event and node stay whole (they broke a letter a
            # line); its detail wraps, and the table scrolls in its box.
            page.locator("table.log tbody td.detail").first.wait_for()
            drawn = page.locator("table.log thead th:visible, "
                                 "table.log tbody td:not(.detail):visible").evaluate_all(_LINES)
            squeezed = [(t, lines) for t, lines, _ in drawn if t and lines != 1]
            assert drawn and not squeezed, squeezed
        _no_console_errors(page)
    finally:
        _screenshot(page, f"phone-{view}")
        context.close()


def test_the_drawing_takes_nested_nodes_from_the_model_for_subgraphs(page: Any, base: str) -> None:
    # Subgraphs do not exist yet; the model already carries a node's parent, and the
    # drawing frames the children of a parent, so they slot in without a new renderer.
    page.goto(base + "/#/graphs")
    page.get_by_role("link", name="code_review").wait_for()
    page.evaluate("""async () => {
      const { drawGraph } = await import("/studio/js/graphview.js");
      const model = {nodes: [
        {id: "outer", label: "outer", sub: "", kind: "node", parent: null},
        {id: "a", label: "a", sub: "set", kind: "node", parent: "outer"},
        {id: "b", label: "b", sub: "set", kind: "node", parent: "outer"},
        {id: "c", label: "c", sub: "set", kind: "node", parent: null}],
        edges: [{from: "a", to: "b", kind: "static", label: "", index: 0},
                {from: "b", to: "c", kind: "static", label: "", index: 1}]};
      document.querySelector("main").append(drawGraph(model).el);
    }""")
    frame = page.locator('[data-cluster="outer"] rect').bounding_box()
    for child in ("a", "b"):
        box = page.locator(f'[data-node="{child}"] rect').bounding_box()
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
        assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]
    # The edge inside the frame is drawn over it, not hidden under it.
    assert page.locator('.clusters + .edges .edge[data-from="a"][data-to="b"] path').count() == 2
    outside = page.locator('[data-node="c"] rect').bounding_box()
    assert outside["y"] >= frame["y"] + frame["height"]


def test_an_unknown_run_says_so(page: Any, base: str) -> None:
    page.goto(base + "/#/runs/no-such-run")
    page.get_by_role("heading", name="Unknown run").wait_for()
    assert "no run with id no-such-run" in page.locator("main").inner_text()
    page.allowed_console = [r"status of 404"]


def test_an_unreachable_server_is_reported_in_the_banner(page: Any, tmp_path: Any) -> None:
    with server("asyncio", sqlite_url(tmp_path), tmp_path) as srv:
        page.goto(srv.url + "/#/graphs")
        page.get_by_role("link", name="code_review").wait_for()
        srv.terminate()
        # The page is loaded; its next request finds nobody listening.
        page.evaluate("location.hash = '#/graphs/code_review'")
        banner = page.locator("#banner")
        banner.wait_for()
        assert "is unreachable" in banner.inner_text()
        assert "make run" in banner.inner_text()
        page.get_by_role("heading", name="Cannot reach the server").wait_for()
    page.allowed_console = [r"ERR_CONNECTION_REFUSED", r"Failed to load resource"]


# -- a question with a schema, answered through its form --------------------------------

def test_a_question_asked_with_a_schema_is_answered_through_its_form(
        page: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real node calls ask(schema=Review) (tests/api/_studio_nodes.py); the server
    # imports it, so it is told to trust the graph's import path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.getcwd()]))
    with server("asyncio", sqlite_url(tmp_path), tmp_path, allow_imports="true") as srv:
        gid = _create(srv.url, {"name": "reviewed", "nodes": [
            {"name": "draft", "tool": "set", "config": {"values": {"draft": "Release notes"}}},
            {"name": "review", "fn": "_studio_nodes:ask_for_review"},
            {"name": "publish", "tool": "set", "config": {"values": {"published": True}}},
        ], "edges": [{"from": "draft", "to": "review"}, {"from": "review", "to": "publish"}]})
        run_id = _run(srv.url, gid)
        waiting = httpx.get(f"{srv.url}/api/v1/runs/{run_id}/interrupts").json()["interrupts"]
        assert waiting[0]["answer_schema"]["title"] == "Review"
        page.goto(srv.url + f"/#/runs/{run_id}")
        form = page.locator(".interrupt")
        form.get_by_text("Review this draft").wait_for()
        # One control per field of the schema, of the field's kind; no yes/no buttons.
        assert form.get_by_role("button", name="Yes").count() == 0
        assert form.get_by_label("Approved").get_attribute("type") == "checkbox"
        assert form.get_by_label("Score").get_attribute("type") == "number"
        assert "from 1 (poor) to 5 (excellent)" in form.inner_text()
        assert form.get_by_label("Channel").locator("option").all_inner_texts() == ["email", "chat"]
        form.get_by_label("Approved").check()
        form.get_by_label("Score").fill("4")
        form.get_by_label("Comment").fill("Ship it <b>now</b>")
        form.get_by_label("Channel").select_option(label="chat")
        _screenshot(page, "schema-form")
        form.get_by_role("button", name="Send answer").click()
        page.locator("h1 .status-completed").wait_for()
        page.locator('[data-node="publish"][data-state="done"]').wait_for()
        state = _state(srv.url, run_id)
        assert state["status"] == "completed"
        assert state["current_state"]["review"] == {
            "approved": True, "score": 4, "comment": "Ship it <b>now</b>", "channel": "chat"}
        assert state["current_state"]["published"] is True


# -- signing in to a server that checks keys ------------------------------------------------

def _new_key(database_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORFLOW_")}
    made = subprocess.run([ACTORFLOW, "keys", "create", "--name", "studio", "--tenant", "acme",
                           "--scopes", "graphs:read,graphs:write,runs:read,runs:write,runs:resume",
                           "--database-url", database_url],
                          capture_output=True, text=True, timeout=60, env=env)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_with_auth_on_the_studio_signs_in_with_a_key_and_signs_out(page: Any, tmp_path: Any) -> None:
    url = sqlite_url(tmp_path)
    key = _new_key(url)
    auth = {"Authorization": f"Bearer {key}"}
    with server("asyncio", url, tmp_path, auth="keys") as srv:
        made = httpx.post(srv.url + "/api/v1/graph/create", headers=auth, timeout=30,
                          json=_approval_graph("behind_the_door"))
        assert made.status_code == 201, made.text
        started = httpx.post(srv.url + "/api/v1/graph/run", headers=auth, timeout=30,
                             json={"graph_id": made.json()["graph_id"]}).json()
        run_id = started["run_id"]
        httpx.get(f"{srv.url}/api/v1/runs/{run_id}/wait?timeout=30", headers=auth, timeout=40)
        page.goto(srv.url + "/#/graphs")
        page.get_by_role("heading", name="Sign in").wait_for()
        assert page.get_by_role("link", name="behind_the_door").count() == 0
        _screenshot(page, "signin")
        page.get_by_label("API key or token").fill(key[:-2] + "xx")
        page.get_by_role("button", name="Sign in").click()
        refusal = page.get_by_role("alert").filter(has_text="refused")
        refusal.wait_for()
        assert "The server refused this key or token." in refusal.inner_text()
        assert "unknown, revoked or malformed" in refusal.inner_text()
        assert page.get_by_label("API key or token").get_attribute("aria-invalid") == "true"
        _screenshot(page, "signin-refused")
        page.get_by_label("API key or token").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="behind_the_door").wait_for()
        assert "Signed in as" in page.locator("#who").inner_text()
        assert "(acme)" in page.locator("#who").inner_text()
        _screenshot(page, "signed-in")
        # Kept for this tab only, never in localStorage; the live feed opens with a
        # ticket (a browser cannot send the header on a WebSocket), so the waiting run
        # colours itself and its answer is seen live.
        assert page.evaluate("sessionStorage.getItem('actorflow.token')") == key
        assert page.evaluate("localStorage.length") == 0
        page.goto(srv.url + f"/#/runs/{run_id}")
        page.locator('[data-node="approve"][data-state="waiting"]').wait_for()
        page.locator(".interrupt").get_by_role("button", name="Yes").click()
        page.locator('[data-node="publish"][data-state="done"]').wait_for()
        page.locator("h1 .status-completed").wait_for()
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in").wait_for()
        assert page.evaluate("sessionStorage.getItem('actorflow.token')") is None
        assert page.locator("#who").is_hidden()
        page.goto(srv.url + "/#/runs")   # a view that refreshes itself asks too
        page.get_by_role("heading", name="Sign in").wait_for()
    page.allowed_console = [r"status of 401"]
