"""Every screen talks to the server through the one helper module (app/web/static/js/mpp.js):
no other script calls fetch() or opens a WebSocket itself, or builds DOM with its own copy."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [p for d in ("app/web/static/js", "kiosk_ui/static", "display_board/static")
           for p in sorted((ROOT / d).glob("*.js"))]
HELPER = ROOT / "app/web/static/js/mpp.js"


def test_only_the_helper_fetches_or_opens_websockets() -> None:
    assert HELPER in SCRIPTS and len(SCRIPTS) > 10
    offenders = {
        str(p.relative_to(ROOT)): hits
        for p in SCRIPTS if p != HELPER
        for hits in [re.findall(r"\bfetch\(|new WebSocket\(|function el\(", p.read_text())]
        if hits
    }
    assert offenders == {}


def test_every_page_that_runs_a_screen_script_loads_the_helper_first() -> None:
    templates = [*(ROOT / "app/web/templates").glob("*.html"),
                 *(ROOT / "kiosk_ui/templates").glob("*.html"),
                 *(ROOT / "display_board/templates").glob("*.html")]
    base = (ROOT / "app/web/templates/base.html").read_text()
    assert ('{% if self.scripts()|trim %}<script src="/static/js/mpp.js"></script>{% endif %}\n'
            '{% block scripts %}') in base
    for t in templates:
        text = t.read_text()
        if t.name in ("base.html", "api_docs.html") or 'extends "base.html"' in text:
            continue  # api_docs: Swagger UI's own page, no screen of ours
        scripts = re.findall(r'<script src="([^"]+)"', text)
        if scripts:
            assert scripts[0] == "/static/js/mpp.js", (t.name, scripts)
