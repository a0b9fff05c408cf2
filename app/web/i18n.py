"""Babel message catalogs. Source strings are Indonesian; `locale/en/LC_MESSAGES/*.po` translate.

Each screen keeps its own .po file (kiosk.po, counter.po, ...); they are merged at start. The
catalogs are compiled in memory from the .po files, so no build step is needed.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGS = ("id", "en")


@lru_cache
def translations(lang: str) -> NullTranslations:
    if lang == "id":
        return NullTranslations()
    merged: Translations | None = None
    for po in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        t = Translations(buf)
        if merged is None:
            merged = t
        else:
            merged.merge(t)
    return merged or NullTranslations()


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)
