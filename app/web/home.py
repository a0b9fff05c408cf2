"""The front page (where each screen of the MPP lives), the favicon, and the tracking lookup."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from app.web.templating import render

router = APIRouter(include_in_schema=False)

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.svg"
# Tracking codes are URL-safe tokens; anything else is refused before it reaches a redirect.
CODE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(FAVICON, media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/t", response_class=HTMLResponse)
@router.get("/t/", response_class=HTMLResponse)
def track_lookup(request: Request, code: str | None = None) -> Response:
    """Where a citizen types the code printed on the ticket (the QR code opens /t/{code})."""
    code = (code or "").strip()
    if code and CODE.match(code):
        return RedirectResponse(f"/t/{code}", status_code=303)
    return render(request, "track_lookup.html", code=code, invalid=bool(code))
