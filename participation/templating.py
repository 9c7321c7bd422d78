"""The Jinja environment of the pages, built once per app: autoescape, ``StrictUndefined``,
gettext per language (one environment per language) and fingerprinted static URLs.

Templates do no I/O: routes hand them plain data (STYLE.md §8).
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from participation.i18n import LANGUAGE_COOKIE, LANGUAGES, language_of, load_translations

__all__ = [
    "LANGUAGE_COOKIE_SECONDS",
    "STATIC_DIR",
    "TEMPLATE_DIR",
    "ContentSecurityPolicy",
    "StaticAssets",
    "Templates",
    "content_security_policy",
]

_HERE: Final = Path(__file__).resolve().parent
TEMPLATE_DIR: Final = _HERE / "templates"
STATIC_DIR: Final = _HERE / "static"
LANGUAGE_COOKIE_SECONDS: Final = 365 * 24 * 3600

_MONTHS: Final = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def _fingerprints() -> dict[str, str]:
    """``css/site.css`` -> first 12 hex of its SHA-256, for cache-busting URLs."""
    return {
        path.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.rglob("*")
        if path.is_file()
    }


class Templates:
    """Renders page templates in the request's language."""

    def __init__(self) -> None:
        fingerprints = _fingerprints()

        def static(path: str) -> str:
            version = fingerprints.get(path)
            if version is None:
                raise LookupError(f"no static file {path}")
            return f"/static/{path}?v={version}"

        self._envs: dict[str, Environment] = {}
        for language in LANGUAGES:
            env = Environment(
                loader=FileSystemLoader(TEMPLATE_DIR),
                autoescape=select_autoescape(default=True, default_for_string=True),
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(  # type: ignore[attr-defined]
                load_translations(language), newstyle=True
            )
            env.globals["static"] = static
            env.filters["day"] = _day_filter(language)
            self._envs[language] = env

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
        language: str | None = None,
    ) -> HTMLResponse:
        """The page ``name`` in the request's language; remembers ``?lang=`` in a cookie."""
        lang = language or language_of(request)
        other = next(code for code in LANGUAGES if code != lang)
        page = {
            "lang": lang,
            "other_lang": other,
            "switch_url": f"{request.url.path}?lang={other}",
            "path": request.url.path,
            **(context or {}),
        }
        html = self._envs[lang].get_template(name).render(page)
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE,
                lang,
                max_age=LANGUAGE_COOKIE_SECONDS,
                path="/",
                httponly=True,
                samesite="lax",
            )
        return response


def _day_filter(language: str) -> Any:
    months = _MONTHS[language]

    def day(value: date | datetime | str) -> str:
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return f"{value.day} {months[value.month - 1]} {value.year}"

    return day


class StaticAssets(StaticFiles):
    """``/static``: fingerprinted URLs (``?v=<hash>``) are cached for a year."""

    def __init__(self) -> None:
        mimetypes.add_type("text/javascript", ".mjs")  # module scripts need a JS type
        super().__init__(directory=STATIC_DIR)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(*, public_url: str, issuer_url: str) -> str:
    """No inline script or style, nothing from third parties; the issuer may be asked for
    tokens (``connect-src``)."""
    own = {_origin(public_url), "'self'"}
    issuer = _origin(issuer_url)
    connect = " ".join(sorted(own | {issuer}))
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


class ContentSecurityPolicy:
    """ASGI middleware adding the CSP and a few other safety headers to every response."""

    def __init__(self, app: ASGIApp, *, policy: str) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
