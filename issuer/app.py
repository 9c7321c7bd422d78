"""The issuer service: ``create_app(settings, *, clock, rng)`` and its lifespan.

The lifespan opens the issuer store (``settings.issuer_redis_url or settings.redis_url``)
and keeps the long-lived parts in state: settings, store, clock, rng, the session codec,
the key manager (with its cache of unsealed signers) and the services built on them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI

from inspraak.clock import SYSTEM_CLOCK, Clock
from inspraak.http import NO_NATIVE_TELEMETRY, PROBLEM_RESPONSES, route_id
from inspraak.metrics import install_probes
from inspraak.store import open_store
from issuer.cors import IssuerCORSMiddleware
from issuer.deps import require_admin
from issuer.eligibility import DevBrpSource
from issuer.errors import UnknownConsultation, install_error_handlers
from issuer.hotpath import TokenRequestHotPath
from issuer.identifiers import pepper_bytes
from issuer.issuance import IssuanceService
from issuer.keys import KeyManager, derive_kek
from issuer.routes import admin, issuance
from issuer.saml import create_saml_router
from issuer.services import ConsultationAdmin
from issuer.session import SessionCodec
from tokens import SYSTEM_RNG, Rng

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = ["ADMIN_KEY_FILE", "admin_key_digest", "create_app"]

ADMIN_KEY_FILE = "issuer_admin_api_key"
"""Dev mode keeps a generated admin API key in ``<data_dir>/secrets/`` under this name."""


def admin_key_digest(settings: Settings) -> bytes | None:
    """SHA-256 of the issuer admin API key; dev mode generates one on first run.

    Outside dev mode without ``INSPRAAK_ISSUER__ADMIN_API_KEY`` the admin API is closed.
    """
    configured = settings.issuer.admin_api_key
    if configured is not None:
        return hashlib.sha256(configured.get_secret_value().encode("utf-8")).digest()
    if not settings.dev_mode:
        return None
    return hashlib.sha256(_read_or_create_admin_key(settings.secrets_dir).encode()).digest()


def _read_or_create_admin_key(secrets_dir: Path) -> str:
    path = secrets_dir / ADMIN_KEY_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")
    return value


def create_app(
    settings: Settings, *, clock: Clock = SYSTEM_CLOCK, rng: Rng = SYSTEM_RNG
) -> FastAPI:
    """The token issuer as an ASGI app (docs/architecture.md, "Processes and URLs")."""
    if settings.key_encryption_key is None:
        raise ValueError("settings.key_encryption_key is unset: call ensure_dev_secrets()")
    store_url = settings.issuer_redis_url or settings.redis_url
    if store_url is None:
        raise ValueError("the issuer needs a store URL (issuer_redis_url or redis_url)")
    kek = derive_kek(settings.key_encryption_key.get_secret_value())
    digest = admin_key_digest(settings)
    levels = _PolicyLevels()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_store(store_url, cluster=settings.redis_cluster) as store:
            keys = KeyManager(store=store, kek=kek, rng=rng)
            admin_service = ConsultationAdmin(
                store=store, keys=keys, clock=clock, pepper=pepper_bytes(settings)
            )
            levels.admin = admin_service
            yield {
                "settings": settings,
                "store": store,
                "clock": clock,
                "rng": rng,
                "session_codec": SessionCodec.from_settings(settings, clock=clock),
                "keys": keys,
                "issuance": IssuanceService(
                    store=store, keys=keys, clock=clock, issuer_url=settings.issuer_url
                ),
                "admin": admin_service,
                "admin_key_digest": digest,
            }

    app = FastAPI(
        title="Inspraak token issuer",
        lifespan=lifespan,
        generate_unique_id_function=route_id,
        responses=PROBLEM_RESPONSES,
        docs_url="/docs" if settings.dev_mode else None,
        redoc_url=None,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.include_router(issuance.router)
    app.include_router(admin.router, prefix="/api/admin", dependencies=[Depends(require_admin)])
    # The development BRP answers from the test BSN; production plugs in a real source.
    brp = DevBrpSource() if settings.dev_mode else None
    app.include_router(create_saml_router(settings, clock=clock, minimum_level=levels, brp=brp))
    install_error_handlers(app)
    # Innermost: token requests answered without FastAPI's routing, with the same handlers.
    app.add_middleware(TokenRequestHotPath, handlers=app.exception_handlers)
    install_probes(app, service="issuer")
    app.add_middleware(IssuerCORSMiddleware, allowed_origins=settings.issuer.allowed_origins)
    return app


class _PolicyLevels:
    """``minimum_level(consultation, scheme)`` for the SAML login, read from the policy.

    The SAML router is built with the app; the store only exists while the lifespan runs,
    so the lifespan binds the admin service here when it starts.
    """

    def __init__(self) -> None:
        self.admin: ConsultationAdmin | None = None

    async def __call__(self, consultation: str, scheme: str) -> str | None:
        if self.admin is None:
            raise RuntimeError("the issuer lifespan has not started")
        try:
            policy = await self.admin.policy(consultation)
        except UnknownConsultation:
            return None
        if scheme not in policy.schemes:
            return None
        return policy.min_level.get(scheme)
