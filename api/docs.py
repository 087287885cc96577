"""Interactive API docs at ``/docs`` that work offline.

quart-schema's own docs page loads Swagger UI from a CDN; this one serves the
Swagger UI files that the ``swagger-ui-bundle`` package ships, from this server.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import anyio
from quart import Blueprint, Response, current_app
from quart_schema import hide

__all__ = ["ASSETS", "docs"]

#: The only files served from the bundle (its source maps and ES builds are not needed).
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png",
                    "favicon-16x16.png"})

docs = Blueprint("docs", __name__)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} - API docs</title>
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    }});
  </script>
</body>
</html>
"""


def _bundle_dir() -> Path:
    import swagger_ui_bundle  # type: ignore[import-untyped]

    return Path(swagger_ui_bundle.swagger_ui_path)


@docs.get("/docs")
@hide
async def docs_page() -> Response:
    """The Swagger UI page, pointing at /openapi.json."""
    title = current_app.extensions["QUART_SCHEMA"].info.title
    return Response(_PAGE.format(title=title), content_type="text/html; charset=utf-8")


@docs.get("/docs/static/<name>")
@hide
async def docs_asset(name: str) -> Response:
    """One Swagger UI file from the bundle (404 for anything else)."""
    if name not in ASSETS:
        from .errors import ApiError

        raise ApiError(404, "not_found", f"no docs asset {name!r}")
    # Read whole and kept: four small files. (quart-trio's file responses hang under
    # the trio test client, so Quart's send_file is not used.)
    data = _cache.get(name)
    if data is None:
        data = _cache[name] = await anyio.Path(_bundle_dir() / name).read_bytes()
    response = Response(data, content_type=mimetypes.guess_type(name)[0] or "text/plain")
    response.cache_control.max_age = 86400
    return response


_cache: dict[str, bytes] = {}
