"""Swagger UI at /docs, its assets served from the swagger-ui-py wheel (no CDN)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aiohttp import web

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Billing API</title>
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>
"""


def assets_dir() -> Path:
    # Found, not imported: importing swagger_ui (its Jinja-based app integrations) costs
    # about 0.1 s of every cold start, and only its files are served.
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=_PAGE, content_type="text/html")


async def to_docs(request: web.Request) -> web.Response:
    """A newcomer opening the server's root (or /docs/) lands on the docs, not on a 404."""
    # Returned, not raised: the outer middlewares then log it and add X-Request-Id.
    return web.Response(status=302, headers={"Location": "/docs"})


def add_docs_routes(app: web.Application) -> None:
    app.router.add_get("/docs", docs_page)
    app.router.add_get("/docs/", to_docs)
    app.router.add_get("/", to_docs)
    app.router.add_static("/docs/static", assets_dir())
