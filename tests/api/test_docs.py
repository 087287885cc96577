"""The docs page's parts: the vendored Swagger UI, its packaging, and the spec's prose.

The page itself is tested in a real browser in test_docs_browser.py.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _api_support import serving

from api.docs import ASSET_DIR, ASSETS
from api.openapi import markdown, plain

ROOT = Path(__file__).parents[2]


def _vendored() -> tuple[str, dict[str, str]]:
    """The VERSION file: the release line, then ``sha256  name`` per file."""
    lines = (ASSET_DIR / "VERSION").read_text().splitlines()
    hashes = dict(reversed(line.split()) for line in lines[1:] if not line.startswith("#"))
    return lines[0], hashes


def test_vendored_swagger_ui_is_a_release_that_reads_openapi_3_1() -> None:
    release, _ = _vendored()
    name, version = release.split()
    assert name == "swagger-ui-dist"
    assert int(version.split(".")[0]) >= 5  # 4.x says "does not specify a valid version field"


def test_vendored_files_are_the_ones_version_names_with_their_licence() -> None:
    _, hashes = _vendored()
    assert set(hashes) == ASSETS
    for name, digest in hashes.items():
        assert hashlib.sha256((ASSET_DIR / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (ASSET_DIR / "LICENSE").read_text()


async def test_docs_assets_are_served_as_vendored(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        for name in ASSETS:
            response = await client.get(f"/docs/static/{name}")
            assert response.status_code == 200, name
            assert await response.get_data() == (ASSET_DIR / name).read_bytes()
        missing = await client.get("/docs/static/LICENSE")
        assert missing.status_code == 404
        assert (await missing.get_json())["error"]["code"] == "not_found"


@pytest.mark.slow
def test_the_wheel_ships_the_docs_assets(tmp_path: Path) -> None:
    # A copy: pip builds in the source folder, and the checkout should stay clean.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".*", "tests", "build", "*.egg-info", "__pycache__", "*.db"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("actorflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in [*ASSETS, "VERSION", "LICENSE"]:
        assert f"api/static/swagger-ui/{name}" in names


def test_rst_literals_become_markdown_code_in_descriptions_and_plain_in_summaries() -> None:
    assert markdown("poll ``GET /runs/{id}`` or ``wait``") == "poll `GET /runs/{id}` or `wait`"
    assert plain("after checkpoint ``step``.") == "after checkpoint step."


async def test_openapi_prose_has_no_rst_markup_and_whole_summaries(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        spec = await (await client.get("/openapi.json")).get_json()
    operations = {(m, p): op for p, item in spec["paths"].items() for m, op in item.items()}
    for key, op in operations.items():
        assert "`" not in op["summary"], key
        assert "``" not in op.get("description", ""), key
    # A summary wrapped over two docstring lines is whole, not cut at the line break.
    interrupts = operations[("get", "/api/v1/runs/{run_id}/interrupts")]["summary"]
    assert interrupts.endswith("branch waiting while others run).")
    run = operations[("post", "/api/v1/graph/run")]["description"]
    assert "`GET /api/v1/graph/state/{run_id}`" in run


async def test_docs_with_a_trailing_slash_leads_to_the_page(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        slash = await client.get("/docs/")
        assert slash.status_code == 308 and slash.headers["Location"] == "/docs"
        page = await client.get(slash.headers["Location"])
        assert page.status_code == 200 and "swagger-ui" in await page.get_data(as_text=True)
