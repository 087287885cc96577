"""Interactive API docs at ``/docs`` that work offline.

quart-schema's own docs pages load their viewer from a CDN, and the PyPI package
``swagger-ui-bundle`` stops at Swagger UI 4, which cannot read the OpenAPI 3.1 spec
we emit. So a current Swagger UI is vendored in ``api/static/swagger-ui/`` (its
``VERSION`` file says which release, where it came from and the files' hashes) and
served from this server. To update it: ``npm pack swagger-ui-dist@5`` in a scratch
folder, copy the files listed in :data:`ASSETS` plus ``LICENSE``, ``NOTICE`` and
``swagger-ui-bundle.js.LICENSE.txt`` over the old ones, and rewrite ``VERSION``.
"""

from __future__ import annotations

import mimetypes
from importlib.resources import files

import anyio
from quart import Blueprint, Response, current_app
from quart_schema import hide

from .errors import ApiError

__all__ = ["ASSETS", "ASSET_DIR", "docs"]

#: The vendored Swagger UI, shipped inside the wheel as package data.
ASSET_DIR = files("api") / "static" / "swagger-ui"

#: The only files served (the licence files are for readers of the source, not browsers).
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png",
                    "favicon-16x16.png"})

docs = Blueprint("docs", __name__)

# BaseLayout without the standalone preset: no top bar asking for another spec URL;
# no validator badge, which would fetch an image from swagger.io.
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - API docs</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/static/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js" charset="utf-8"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      validatorUrl: null
    }});
  </script>
</body>
</html>
"""


@docs.get("/docs")
@hide
async def docs_page() -> Response:
    """The Swagger UI page, pointing at /openapi.json."""
    title = current_app.extensions["QUART_SCHEMA"].info.title
    return Response(_PAGE.format(title=title), content_type="text/html; charset=utf-8")


@docs.get("/docs/")
@hide
async def docs_slash() -> Response:
    """``/docs/`` (as many type it): the page is at ``/docs``."""
    return Response("", status=308, headers={"Location": "/docs"})


@docs.get("/docs/static/<name>")
@hide
async def docs_asset(name: str) -> Response:
    """One Swagger UI file (404 for anything else)."""
    if name not in ASSETS:
        raise ApiError(404, "not_found", f"no docs asset {name!r}",
                       details={"assets": sorted(ASSETS)})
    # Read whole and kept: four files, 2 MB in all. (quart-trio's file responses hang
    # under the trio test client, so Quart's send_file is not used.)
    data = _cache.get(name)
    if data is None:
        data = _cache[name] = await anyio.to_thread.run_sync((ASSET_DIR / name).read_bytes)
    response = Response(data, content_type=_content_type(name))
    response.cache_control.max_age = 86400
    return response


def _content_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind


_cache: dict[str, bytes] = {}
