"""The Studio's files: served at / and /studio by the API process, and in the wheel."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _api_support import serving

from api.studio import ASSET_DIR, assets


async def test_root_and_studio_serve_the_studio_page(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        for path in ("/", "/studio", "/studio/"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.content_type.startswith("text/html")
            assert "actorflow Studio" in await response.get_data(as_text=True)


async def test_the_page_may_run_only_this_servers_scripts_and_contact_only_it(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        policy = (await client.get("/studio")).headers["Content-Security-Policy"]
    rules = dict(rule.strip().split(" ", 1) for rule in policy.split(";"))
    assert rules["script-src"] == "'self'" and rules["style-src"] == "'self'"
    assert rules["connect-src"].startswith("'self' ws://")
    assert rules["object-src"] == "'none'"


async def test_every_file_the_page_and_modules_import_is_served_from_this_origin(anyio_backend: str) -> None:
    # Follow index.html's links and every module's imports: nothing from other hosts.
    async with serving(anyio_backend) as client:
        page = await (await client.get("/studio")).get_data(as_text=True)
        todo = re.findall(r'(?:src|href)="(/studio/[^"]+)"', page)
        seen: set[str] = set()
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            response = await client.get(url)
            assert response.status_code == 200, url
            text = await response.get_data(as_text=True)
            if url.endswith(".js"):
                assert response.content_type.startswith("text/javascript")
                base = url.rsplit("/", 1)[0]
                for spec in re.findall(r'from\s+"(\.{1,2}/[^"]+)"', text):
                    todo.append(_join(base, spec))
        assert "/studio/vendor/dagre/dagre.esm.js" in seen
        assert not re.search(r'(?:src|href)="(?:https?:)?//', page)


def _join(base: str, spec: str) -> str:
    parts = base.split("/")
    for piece in spec.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


async def test_files_outside_the_studio_and_licence_files_are_404(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        for path in ("/studio/../service.py", "/studio/vendor/dagre/LICENSE",
                     "/studio/nope.js", "/studio/vendor/dagre/VERSION"):
            response = await client.get(path)
            assert response.status_code == 404, path


def test_the_vendored_library_matches_its_version_file() -> None:
    import hashlib

    version = (ASSET_DIR / "vendor" / "dagre" / "VERSION").read_text()
    digest = hashlib.sha256((ASSET_DIR / "vendor" / "dagre" / "dagre.esm.js").read_bytes()).hexdigest()
    assert f"sha256 {digest}  dagre.esm.js" in version
    assert (ASSET_DIR / "vendor" / "dagre" / "LICENSE").read_text().startswith("Copyright")


def test_no_studio_module_inserts_html() -> None:
    # Values from the API reach the page as text nodes and attributes only (dom.js).
    for name, entry in assets().items():
        if name.endswith(".js") and not name.startswith("vendor/"):
            text = entry.read_text()
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
                assert sink not in text, f"{name} uses {sink}"


@pytest.mark.slow
def test_the_wheel_ships_every_studio_file(tmp_path: Path) -> None:
    # A copy: pip builds in the source folder, and the checkout should stay clean.
    root = Path(__file__).parents[2]
    source = tmp_path / "src"
    shutil.copytree(root, source, ignore=shutil.ignore_patterns(
        ".*", "tests", "build", "*.egg-info", "__pycache__", "*.db"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("actorflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in [*assets(), "vendor/dagre/LICENSE", "vendor/dagre/VERSION"]:
        assert f"api/static/studio/{name}" in names
    assert not [n for n in names if n.startswith("api/static/studio/docs/")]
