"""Open data (no login, no personal data) and the SKM follow-up register's staff API.

The files carry HTTP caching headers: a strong ETag over the body (a harvester that sends
If-None-Match gets 304) and a short public max-age, so a Satu Data portal polling every few
minutes costs one SQL aggregate per period of validity per cache.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from app.api import ratelimit
from app.api.deps import AnonCtxDep, CtxDep
from app.api.schemas import Id, Strict
from app.services import follow_up, open_data

router = APIRouter(prefix="/api/v1")
SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "open_data"
MAX_AGE = 300
FromQ = Annotated[date | None, Query(alias="from")]
ToQ = Annotated[date | None, Query(alias="to")]
Format = Literal["json", "csv"]
ReadLimit = Depends(ratelimit.limit_by_ip("open_data", lambda p: (p.ip_read_per_minute, 60)))


@lru_cache
def schema(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")))


def _cached(request: Request, body: bytes, media_type: str, **headers: str) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = {"ETag": etag, "Cache-Control": f"public, max-age={MAX_AGE}",
              "Access-Control-Allow-Origin": "*", "Vary": "Accept-Encoding", **headers}
    sent = request.headers.get("if-none-match", "")
    if etag in [t.strip().removeprefix("W/") for t in sent.split(",")]:
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers=common)


def _csv(fields: list[str], rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row[k]) for k in fields})
    return buf.getvalue().encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # Names typed by staff must not run as spreadsheet formulas.
        return "'" + value
    return value


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/v1/open-data"


@router.get("/open-data/daily", tags=["open-data"], dependencies=[ReadLimit])
def get_daily(request: Request, ctx: AnonCtxDep, site_id: Id | None = None,
              start: FromQ = None, end: ToQ = None, format: Format = "json") -> Response:
    """One row per service per day: issued, served, no-shows, wait and service minutes.

    Described by the Frictionless Table Schema at /api/v1/open-data/daily.schema.json.
    Default range: the last 30 days up to today (the site's day); at most 731 days.
    """
    sl = open_data.resolve_slice(ctx.session, ctx.now, site_id=site_id, start=start, end=end,
                                 default="days")
    rows = open_data.daily(ctx.session, sl)
    name = f"antrean-harian-{sl.start}_{sl.end}"
    if format == "csv":
        return _cached(request, _csv(open_data.DAILY_FIELDS, rows), "text/csv; charset=utf-8",
                       **{"Content-Disposition": f'inline; filename="{name}.csv"',
                          "Link": f'<{_base(request)}/daily.schema.json>; rel="describedby"'})
    doc = {"schema": f"{_base(request)}/daily.schema.json", "from": sl.start.isoformat(),
           "to": sl.end.isoformat(), "sites": [s.code for s in sl.sites],
           "fields": open_data.DAILY_FIELDS, "data": rows}
    return _cached(request, _json(doc), "application/json")


@router.get("/open-data/skm", tags=["open-data"], dependencies=[ReadLimit])
def get_skm(request: Request, ctx: AnonCtxDep, site_id: Id | None = None, start: FromQ = None,
            end: ToQ = None, format: Format = "json") -> Response:
    """The published SKM result per agency (PermenPANRB 14/2017) and its follow-up actions.

    JSON: `data` (one object per agency, `nrr` nine values) and `follow_up`. CSV: the agency
    rows with nrr_u1..nrr_u9 columns (skm.schema.json); the register is in the JSON and on the
    public /skm page. Default period: the current quarter up to today.
    """
    sl = open_data.resolve_slice(ctx.session, ctx.now, site_id=site_id, start=start, end=end,
                                 default="quarter")
    result = open_data.skm(ctx.session, sl)
    if format == "csv":
        rows = [open_data.skm_flat(r) for r in result["data"]]
        return _cached(request, _csv(open_data.SKM_FIELDS, rows), "text/csv; charset=utf-8",
                       **{"Content-Disposition":
                          f'inline; filename="skm-{sl.start}_{sl.end}.csv"',
                          "Link": f'<{_base(request)}/skm.schema.json>; rel="describedby"'})
    doc = {"schema": f"{_base(request)}/skm.schema.json",
           "follow_up_schema": f"{_base(request)}/skm_follow_up.schema.json", **result}
    return _cached(request, _json(doc), "application/json")


@router.get("/open-data/{name}.schema.json", tags=["open-data"])
def get_schema(request: Request,
               name: Literal["daily", "skm", "skm_follow_up"]) -> Response:
    """The Frictionless Table Schema of an open-data file."""
    return _cached(request, _json(schema(name)), "application/json")


@router.get("/open-data/datapackage.json", tags=["open-data"])
def get_datapackage(request: Request) -> Response:
    """A Frictionless Data Package naming both files and their schemas (for harvesters)."""
    base = _base(request)
    doc = {
        "name": "mpp-antrean-open-data",
        "title": "Data terbuka Mal Pelayanan Publik: antrean harian dan hasil SKM",
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "resources": [
            {"name": "antrean-harian", "path": f"{base}/daily?format=csv", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "schema": f"{base}/daily.schema.json"},
            {"name": "skm", "path": f"{base}/skm?format=csv", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "schema": f"{base}/skm.schema.json"},
        ],
    }
    return _cached(request, _json(doc), "application/json")


# --- follow-up register (managers) ----------------------------------------------------------

Text1000 = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Unsur = Literal["U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9"]
Status = Literal["planned", "in_progress", "done"]


class FollowUpIn(Strict):
    agency_id: Id
    service_id: Id | None = None
    period_from: date
    period_to: date
    unsur: Unsur
    nrr: Annotated[float, Field(ge=1, le=4)] | None = None
    action: Text1000
    owner: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    due_date: date
    status: Status = "planned"
    result_note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class FollowUpPatch(Strict):
    service_id: Id | None = None
    period_from: date | None = None
    period_to: date | None = None
    unsur: Unsur | None = None
    nrr: Annotated[float, Field(ge=1, le=4)] | None = None
    action: Text1000 | None = None
    owner: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    due_date: date | None = None
    status: Status | None = None
    result_note: Annotated[str, StringConstraints(max_length=1000)] | None = None


@router.get("/skm/follow-ups", tags=["survey"])
def list_follow_ups(ctx: CtxDep, site_id: Id | None = None, agency_id: Id | None = None
                    ) -> dict[str, Any]:
    """The register as managers see it (agencies in their scope), with ids to edit."""
    return {"items": follow_up.list_for_staff(ctx, site_id=site_id, agency_id=agency_id)}


@router.post("/skm/follow-ups", status_code=201, tags=["survey"])
def create_follow_up(body: FollowUpIn, ctx: CtxDep) -> dict[str, Any]:
    """Record the action planned for a low unsur; it is published with the SKM result."""
    item = follow_up.create(ctx, body.model_dump())
    return follow_up.as_dict(ctx.session, item)


@router.patch("/skm/follow-ups/{item_id}", tags=["survey"])
def patch_follow_up(item_id: Id, body: FollowUpPatch, ctx: CtxDep) -> dict[str, Any]:
    item = follow_up.update(ctx, item_id, body.model_dump(exclude_unset=True))
    return follow_up.as_dict(ctx.session, item)


@router.delete("/skm/follow-ups/{item_id}", status_code=204, tags=["survey"])
def delete_follow_up(item_id: Id, ctx: CtxDep) -> Response:
    follow_up.delete(ctx, item_id)
    return Response(status_code=204)
