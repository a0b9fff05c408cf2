"""The display board page: /display (by site, zone or agency) and /display/{board_id}.

The page holds no queue data: it opens `WS /ws/display` with the same parameters and draws
the snapshot and events it receives. Access control (device tokens) is enforced there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from app.web.i18n import translations
from app.web.templating import page_lang, render

router = APIRouter(tags=["display board"])

IdParam = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
ZoneParam = Annotated[str | None, Query(max_length=50)]
LayoutParam = Annotated[Literal["landscape", "portrait", "auto"] | None, Query()]
# Strings the page's script shows; translated here so the JS holds no language tables.
JS_STRINGS = (
    "Terhubung", "Terputus — menyambung ulang…", "Loket", "Menunggu", "Tidak ada antrean",
    "Papan ini memerlukan token perangkat yang sah. Hubungi admin MPP.",
    "Papan tidak ditemukan", "Panggilan ulang", "Prioritas", "Istirahat",
)


def _page(request: Request, *, board: int | None, site_id: int | None, zone: str | None,
          agency_id: int | None, layout: str | None) -> HTMLResponse:
    t = translations(page_lang(request))
    params = {k: v for k, v in (("board", board), ("site_id", site_id), ("zone", zone),
                                ("agency_id", agency_id)) if v not in (None, "")}
    return render(request, "display.html", params=params, layout=layout or "auto",
                  strings={s: t.gettext(s) for s in JS_STRINGS})


@router.get("/display", response_class=HTMLResponse)
def display(request: Request, site_id: IdParam = None, zone: ZoneParam = None,
            agency_id: IdParam = None, board: IdParam = None, layout: LayoutParam = None
            ) -> HTMLResponse:
    """A board for a site (the first one by default), one zone or floor, or one agency."""
    return _page(request, board=board, site_id=site_id, zone=zone, agency_id=agency_id,
                 layout=layout)


@router.get("/display/{board_id}", response_class=HTMLResponse)
def display_board(request: Request, board_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                  layout: LayoutParam = None) -> HTMLResponse:
    """A board configured by an admin (name, site, zone or agencies, layout, running text)."""
    return _page(request, board=board_id, site_id=None, zone=None, agency_id=None,
                 layout=layout)
