"""Binds each AuthnRequest to the browser that started it (against login CSRF).

Without it, anyone could make someone else's browser finish the attacker's own login
(e.g. a link to ``/saml/digid/artifact?SAMLart=<attacker's artifact>``), and that browser
would then hold the attacker's session. At login start the browser gets a short-lived
cookie named after an HMAC of the request id; the Response is only accepted from a
browser holding it. Outside dev mode it is ``SameSite=None; Secure``, because the
HTTP-POST binding reaches the ACS as a cross-site POST; in dev mode (plain HTTP, IdP on
the same site) it is ``SameSite=Lax``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from starlette.responses import Response

from inspraak.cookies import SAML_BINDING_PREFIX
from issuer.saml.errors import InvalidResponse

__all__ = ["COOKIE_PREFIX", "BrowserBinding"]

COOKIE_PREFIX = SAML_BINDING_PREFIX
_LABEL = b"inspraak/v1/saml-browser-binding"


class BrowserBinding:
    """Sets, checks and removes the per-request browser cookie."""

    def __init__(self, secret: bytes, *, cookie_path: str, secure: bool, ttl_seconds: int) -> None:
        self._key = hmac.new(secret, _LABEL, hashlib.sha256).digest()
        self.cookie_path = cookie_path
        self.secure = secure
        self.samesite: Literal["none", "lax"] = "none" if secure else "lax"
        self.ttl_seconds = ttl_seconds

    def _mac(self, request_id: str) -> str:
        return hmac.new(self._key, request_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def cookie_name(self, request_id: str) -> str:
        return COOKIE_PREFIX + self._mac(request_id)[:16]

    def bind(self, response: Response, request_id: str) -> None:
        """Give the browser the cookie for ``request_id``."""
        response.set_cookie(
            self.cookie_name(request_id),
            self._mac(request_id),
            max_age=self.ttl_seconds,
            path=self.cookie_path,
            secure=self.secure,
            httponly=True,
            samesite=self.samesite,
        )

    def check(self, cookies: Mapping[str, str], request_id: str) -> None:
        """Raise :class:`InvalidResponse` unless this browser started ``request_id``."""
        given = cookies.get(self.cookie_name(request_id), "")
        if not hmac.compare_digest(
            given.encode("ascii", "replace"), self._mac(request_id).encode()
        ):
            raise InvalidResponse("other_browser")

    def release(self, response: Response, request_id: str) -> None:
        """Remove the cookie once the login is done."""
        response.delete_cookie(
            self.cookie_name(request_id),
            path=self.cookie_path,
            secure=self.secure,
            httponly=True,
            samesite=self.samesite,
        )
