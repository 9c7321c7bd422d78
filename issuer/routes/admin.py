"""Admin API: consultation policies, key rotation and invited panels (issuer admin API key)."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Request

from issuer.deps import AdminDep
from issuer.errors import PROBLEM_MEDIA_TYPE, InvalidInput
from issuer.levels import Scheme
from issuer.policy import Policy
from issuer.schemas import ConsultationOut, KeyOut, PanelOut, RotateIn
from issuer.services import ConsultationState
from issuer.store import CID_PATTERN

__all__ = ["MAX_PANEL_BYTES", "CidPath", "router"]

MAX_PANEL_BYTES = 64 * 1024 * 1024

CidPath = Annotated[str, Path(pattern=CID_PATTERN.pattern, description="Consultation id")]
"""A consultation id: a public slug (docs/architecture.md)."""

router = APIRouter(
    tags=["admin"],
    responses={
        status: {"description": text, "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status, text in ((401, "Missing or wrong admin API key"), (404, "Unknown"))
    },
)


def _out(state: ConsultationState) -> ConsultationOut:
    return ConsultationOut(
        consultation=state.cid,
        policy=state.policy,
        keys=[
            KeyOut(
                key_id=k.key_id,
                truncated_token_key_id=k.truncated_token_key_id,
                token_key=base64.urlsafe_b64encode(k.token_key).decode("ascii"),
                not_before=k.not_before,
                current=k.key_id == state.current_key_id,
            )
            for k in state.keys
        ],
        panel_size=state.panel_size,
    )


@router.get("/consultations")
async def list_consultations(admin: AdminDep) -> list[str]:
    """Ids of every consultation the issuer knows."""
    return await admin.consultation_ids()


@router.put("/consultations/{cid}")
async def put_consultation(cid: CidPath, policy: Policy, admin: AdminDep) -> ConsultationOut:
    """Create or replace a consultation's policy; its first signing key is made if needed."""
    return _out(await admin.put_policy(cid, policy))


@router.get("/consultations/{cid}")
async def get_consultation(cid: CidPath, admin: AdminDep) -> ConsultationOut:
    return _out(await admin.state(cid))


@router.post("/consultations/{cid}/keys")
async def rotate_key(
    cid: CidPath, admin: AdminDep, body: Annotated[RotateIn | None, Body()] = None
) -> ConsultationOut:
    """Add a new signing key, used from ``not_before``; older keys stay listed until close."""
    await admin.rotate(cid, not_before=body.not_before if body else None)
    return _out(await admin.state(cid))


@router.put(
    "/consultations/{cid}/panel",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def upload_panel(
    cid: CidPath,
    request: Request,
    admin: AdminDep,
    scheme: Annotated[Scheme, Query()] = "digid",
) -> PanelOut:
    """Replace the invited panel with the BSNs (or KvK numbers) in a CSV body.

    Only keyed hashes are stored; the file itself is not kept.
    """
    body = await request.body()
    if len(body) > MAX_PANEL_BYTES:
        raise InvalidInput("file too large")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("not UTF-8") from exc
    size = await admin.replace_panel_from_csv(cid, text, scheme=scheme)
    del body, text
    return PanelOut(consultation=cid, panel_size=size)


@router.delete("/consultations/{cid}/panel")
async def delete_panel(cid: CidPath, admin: AdminDep) -> PanelOut:
    await admin.clear_panel(cid)
    return PanelOut(consultation=cid, panel_size=0)
