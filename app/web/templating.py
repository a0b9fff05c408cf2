"""Jinja2 environment shared by every server-rendered screen (autoescaping on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from app.web.i18n import LANGS, translations

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_DIRS = [
    ROOT / "app" / "web" / "templates",
    ROOT / "kiosk_ui" / "templates",
    ROOT / "display_board" / "templates",
]

env = Environment(
    loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS]),
    autoescape=select_autoescape(["html", "xml"], default=True),
    extensions=["jinja2.ext.i18n"],
)


def page_lang(request: Request) -> str:
    """?lang= wins, then the mpp_lang cookie; Indonesian by default."""
    lang = request.query_params.get("lang") or request.cookies.get("mpp_lang") or "id"
    return lang if lang in LANGS else "id"


def number_formatter(lang: str) -> Any:
    """num(value, places): a decimal the reader's way (Indonesian 86,11; English 86.11)."""

    def num(value: float | int | None, places: int = 2) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return format_decimal(value, format=pattern, locale=lang)

    return num


def date_formatter(lang: str) -> Any:
    """long_date(d): '1 Desember 2026' / 'December 1, 2026'."""
    return lambda d: format_date(d, format="long", locale=lang)


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    lang = page_lang(request)
    t = translations(lang)
    tmpl = env.get_template(template)
    html = tmpl.render(
        request=request, lang=lang, _=t.gettext, gettext=t.gettext, ngettext=t.ngettext,
        num=number_formatter(lang), long_date=date_formatter(lang),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("mpp_lang", lang, max_age=365 * 86400, samesite="lax")
    return response
