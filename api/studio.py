"""The Studio: the browser app at ``/`` and ``/studio``, served by this process.

The Studio is plain ES modules and CSS in ``api/static/studio/`` (no build step), with
its one library, dagre (graph layout), vendored under ``vendor/`` with its licence and
``VERSION``. It is a client of the public HTTP API and WebSocket feed only. Everything
is same-origin and offline: no CDN, no fonts or images from elsewhere.
"""

from __future__ import annotations

import mimetypes
from importlib.resources import files
from importlib.resources.abc import Traversable

import anyio
from quart import Blueprint, Response, request
from quart_schema import hide

from .errors import ApiError

__all__ = ["ASSET_DIR", "assets", "studio"]

#: The Studio's files, shipped inside the wheel as package data.
ASSET_DIR = files("api") / "static" / "studio"

#: Kinds of file a browser may fetch; licence and VERSION files are for readers.
_SERVED = (".html", ".js", ".css", ".svg", ".png")

studio = Blueprint("studio", __name__)


def assets() -> dict[str, Traversable]:
    """Every servable file of the Studio by its path under ``/studio/``."""
    if not _assets:
        _walk(ASSET_DIR, "")
    return _assets


def _walk(folder: Traversable, prefix: str) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and prefix + entry.name == "docs":
            continue  # the README's screenshot: in the repository, not the app
        if entry.is_dir():
            _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(_SERVED):
            _assets[prefix + entry.name] = entry


@studio.get("/")
@studio.get("/studio")
@studio.get("/studio/")
@hide
async def studio_page() -> Response:
    """The Studio's single page (its views are #fragments of it)."""
    response = await _file("index.html")
    response.cache_control.no_cache = True
    response.headers["Content-Security-Policy"] = _policy()
    return response


def _policy() -> str:
    """The page may load and contact this server only; no inline script or style.

    A second line of defence behind the rule that API values are inserted as text:
    even an injected ``<script>`` or ``onerror=`` could neither run nor send anything.
    """
    host = request.host
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' ws://{host} wss://{host}; object-src 'none'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@studio.get("/studio/<path:name>")
@hide
async def studio_asset(name: str) -> Response:
    """One Studio file (404 for anything else)."""
    if name not in assets():
        raise ApiError(404, "not_found", f"no Studio file {name!r}")
    response = await _file(name)
    # Revalidated on every load: the files change with each release, and carry no hash.
    response.cache_control.no_cache = True
    return response


async def _file(name: str) -> Response:
    # Read whole and kept, as api/docs.py does (quart-trio's file responses hang under
    # the trio test client): a few hundred kilobytes in all.
    data = _cache.get(name)
    if data is None:
        data = _cache[name] = await anyio.to_thread.run_sync(assets()[name].read_bytes)
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        kind = "text/javascript"  # some systems' mime tables lack .js or say application/
    charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("+xml") else ""
    return Response(data, content_type=kind + charset)


_assets: dict[str, Traversable] = {}
_cache: dict[str, bytes] = {}
