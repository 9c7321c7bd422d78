"""Languages of the pages: the gettext catalogs (``locale/<lang>/LC_MESSAGES/messages.po``)
and the choice of language per request (``?lang=en``, then the cookie, then Dutch).

The ``.po`` files are parsed with Babel when the app starts, so a clean clone needs no
compile step; ``locale/babel.cfg`` says how to extract new strings.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

from inspraak.cookies import LANGUAGE

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_COOKIE",
    "LOCALE_DIR",
    "catalog_path",
    "language_of",
    "load_translations",
]

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
LANGUAGES: Final = ("nl", "en")
DEFAULT_LANGUAGE: Final = "nl"
LANGUAGE_COOKIE: Final = LANGUAGE


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def load_translations(language: str) -> gettext.GNUTranslations:
    """One language's catalog, parsed from its ``.po`` file and compiled in memory."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def language_of(request: Request) -> str:
    """``?lang=`` wins, then the language cookie, then Dutch."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
