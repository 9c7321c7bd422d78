"""Redemption as the verifier service offers it: the token from a JSON body or a header."""

from __future__ import annotations

import base64
import binascii
import re

import structlog

from tokens import DecodeError, Token, parse_authorization
from verifier.errors import Malformed
from verifier.redeem import Redeemer, Redemption

__all__ = ["presented_token", "redeem_presented"]

log = structlog.get_logger(__name__)

_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def presented_token(token_b64: str | None, authorization: str | None) -> bytes | Token:
    """The token from the body (base64url, RFC 4648 §5) or else from ``Authorization``.

    Raises:
        Malformed: neither holds a well-formed token.
    """
    if token_b64 is not None:
        if not _B64URL.fullmatch(token_b64):
            raise Malformed
        stripped = token_b64.rstrip("=")
        try:
            return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
        except (binascii.Error, ValueError) as exc:
            raise Malformed from exc
    if authorization is None:
        raise Malformed
    try:
        return parse_authorization(authorization)
    except DecodeError as exc:
        raise Malformed from exc


async def redeem_presented(
    redeemer: Redeemer, cid: str, *, token_b64: str | None, authorization: str | None
) -> Redemption:
    """Redeem what the caller presented for ``cid``.

    Raises:
        VerifierError: as :meth:`Redeemer.redeem`, and Malformed for an unreadable token.
    """
    try:
        token = presented_token(token_b64, authorization)
    except Malformed as exc:
        log.info("token_refused", cid=cid, reason=exc.reason)
        raise
    return await redeemer.redeem(cid, token)
