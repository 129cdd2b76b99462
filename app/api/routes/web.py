"""The dashboard: frontend-v2's built app (frontend-v2/dist) at `/`, with a single-page-app fallback.

The catch-all route does not even match paths under /api, /docs, /redoc, /openapi.json and
/metrics, so it shadows no route wherever it is included (routers included after it still get
their paths) and an unknown /api path stays a plain 404, never the app. A path that
names a file in dist gets the file; any other path gets index.html, so the app's own routes
survive a reload. When dist is missing the server still runs and `/` says how to build it.
Open without a token: the app itself asks for one when the API needs it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

DIST = Path(__file__).resolve().parents[3] / "frontend-v2" / "dist"
RESERVED = ("api", "docs", "redoc", "openapi.json", "metrics")

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>signaldesk</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>signaldesk</h1>
<p>The server is running, but the dashboard is not built yet ({dist} is missing).</p>
<p>Build it with <code>make run</code> (which builds it, then starts the server), or
<code>cd frontend-v2 &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.</p>
<p>The API is up meanwhile: <a href="/docs">/docs</a>.</p>
</body></html>
"""


def _reserved(path: str) -> bool:
    first = path.lstrip("/").split("/", 1)[0]
    return first in RESERVED


class _AppRoute(APIRoute):
    """A route that steps aside for the API's paths, so the router goes on to the next route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if _reserved(scope.get("path", "")):
            return Match.NONE, {}
        return super().matches(scope)


def _file_in(dist: Path, path: str) -> Path | None:
    """The file of dist that `path` names, or None (also for anything outside dist)."""
    if not path:
        return None
    candidate = (dist / path).resolve()
    if candidate.is_relative_to(dist.resolve()) and candidate.is_file():
        return candidate
    return None


def build_router(dist: Path = DIST) -> APIRouter:
    """The static route over `dist` (a directory with index.html once built)."""
    router = APIRouter(include_in_schema=False, route_class=_AppRoute)

    @router.api_route("/{path:path}", methods=["GET", "HEAD"])
    async def web(path: str) -> Response:
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT.format(dist=dist), status_code=503)
        file = _file_in(dist, path)
        if file is not None:
            # Vite names assets by content hash: they never change under the same name.
            immutable = path.startswith("assets/")
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(file, headers={"cache-control": cache})
        if "." in path.rsplit("/", 1)[-1]:
            return JSONResponse({"detail": "Not Found"}, status_code=404)  # a missing file, not an app route
        return FileResponse(index, headers={"cache-control": "no-cache"})

    return router


router = build_router()
