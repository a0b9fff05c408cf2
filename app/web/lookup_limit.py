"""The guessing limit on the citizen's HTML pages (/t/{code}, /survey/{code}).

The API's lookups by code count misses per address (app/api/ratelimit.py); the pages share the
same buckets ("track", "survey"), so guessing through the HTML is slowed just as much, and a
refused browser gets a friendly page (429, Retry-After) instead of an API error body.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.api.ratelimit import misses_refused, record_miss
from app.web.templating import render

__all__ = ["refused_page", "record_miss"]


def refused_page(request: Request, name: str) -> HTMLResponse | None:
    """The 429 page when this address used up its misses for `name`, else None."""
    seconds = misses_refused(request, name)
    if seconds is None:
        return None
    response = render(request, "rate_limited.html", status_code=429, seconds=seconds)
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response
