"""``/docs`` in a real browser: headless Chromium against a real server on loopback.

The page must render the OpenAPI 3.1 document we emit (Swagger UI 4 could not), list
every operation of ``/openapi.json``, load nothing from other hosts, and "Try it out"
on ``GET /health`` must show a 200. Each run leaves a screenshot in tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _browser import ARTIFACTS, chromium
from _server import server, sqlite_url

pytestmark = pytest.mark.slow

#: Milliseconds Playwright waits for the page to render an element (a ceiling, not a
#: timing assertion: the loaded machine can be slow to parse a 1.7 MB bundle).
RENDER_TIMEOUT = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


@pytest.fixture(scope="module", params=["asyncio", "trio"])
def docs_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server per backend for the module: the docs page only reads."""
    tmp = tmp_path_factory.mktemp(f"docs-{request.param}")
    with server(request.param, sqlite_url(tmp), tmp) as srv:
        yield srv.url


@pytest.fixture
def page(browser: Any, docs_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The /docs page, rendered; every URL it requested is in ``page.requested``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(RENDER_TIMEOUT)
    page.requested = []
    page.on("request", lambda r: page.requested.append(r.url))
    page.goto(docs_server + "/docs")
    page.wait_for_selector(".opblock")
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()


def _operations(base: str) -> list[tuple[str, str]]:
    spec = httpx.get(base + "/openapi.json").json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


def _listed(page: Any) -> set[tuple[str, str]]:
    blocks = page.locator(".opblock-summary")
    return {(blocks.nth(i).locator(".opblock-summary-method").inner_text().strip(),
             blocks.nth(i).locator("[data-path]").get_attribute("data-path"))
            for i in range(blocks.count())}


def _operation(page: Any, method: str, path: str) -> Any:
    return (page.locator(".opblock")
            .filter(has=page.locator(f'.opblock-summary [data-path="{path}"]'))
            .filter(has=page.locator(".opblock-summary-method", has_text=method)))


def test_docs_page_lists_every_operation_of_the_spec(page: Any, docs_server: str) -> None:
    operations = _operations(docs_server)
    assert len(operations) >= 19
    assert page.locator(".errors-wrapper").count() == 0, page.locator(".errors-wrapper").inner_text()
    missing = sorted(set(operations) - _listed(page))
    assert not missing, f"operations not shown on /docs: {missing}"


def test_docs_page_loads_nothing_from_other_hosts(page: Any, docs_server: str) -> None:
    page.wait_for_load_state("networkidle")
    foreign = [u for u in page.requested if not u.startswith(docs_server + "/")]
    assert not foreign
    assert docs_server + "/openapi.json" in page.requested


def test_try_it_out_on_get_health_shows_200(page: Any) -> None:
    health = _operation(page, "GET", "/health")
    health.locator(".opblock-summary-control").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    status = health.locator(".live-responses-table .response .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert '"status": "ok"' in health.locator(".live-responses-table .microlight").first.inner_text()


def test_descriptions_show_code_not_double_backticks(page: Any) -> None:
    run = _operation(page, "POST", "/api/v1/graph/run")
    run.locator(".opblock-summary-control").click()
    code = run.locator(".opblock-description code", has_text="GET /api/v1/graph/state/{run_id}")
    code.wait_for()
    assert "``" not in page.locator("#swagger-ui").inner_text()
