"""Jinja2 environment shared by every server-rendered screen (autoescaping on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    lang = page_lang(request)
    t = translations(lang)
    tmpl = env.get_template(template)
    html = tmpl.render(
        request=request, lang=lang, _=t.gettext, gettext=t.gettext, ngettext=t.ngettext,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("mpp_lang", lang, max_age=365 * 86400, samesite="lax")
    return response
