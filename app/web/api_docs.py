"""/docs and /redoc served from the app alone: MPP screens often sit on a LAN without internet.

The Swagger UI and ReDoc files come from the installed `fastapi-offline` package; the pages
are our own templates, with the Swagger start-up in a static module (no inline script).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from app.web.templating import render

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs-static"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return render(request, "api_docs.html", kind="swagger", assets=ASSETS_URL,
                  openapi_url=request.app.openapi_url)


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    # The bundle shows Redocly's logo from their CDN; a LAN has no CDN, so show ours.
    text = (ASSETS / "redoc.standalone.js").read_bytes()
    return text.replace(b"https://cdn.redoc.ly/redoc/logo-mini.svg", b"/static/favicon.svg")


@router.get("/docs-redoc.js")
def redoc_bundle() -> Response:
    return Response(_redoc_bundle(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return render(request, "api_docs.html", kind="redoc", assets=ASSETS_URL,
                  openapi_url=request.app.openapi_url)


def setup(app: Any) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-static")
