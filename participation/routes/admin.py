"""The organiser API under ``/api/admin``: consultations, seed statements, moderation,
the audit trail and the Polis-format export. Every route needs an organisation API key
(``Authorization: Bearer isk_...``); moderators may only read and moderate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from participation.deps import ClockDep, ConsultationDep, OrganiserDep, ServicesDep
from participation.export import EXPORT_FILES
from participation.routes.api import summary_of
from participation.schemas import (
    AuditEntry,
    ConsultationCreate,
    ConsultationDetail,
    ConsultationSummary,
    ConsultationUpdate,
    ModerationIn,
    ModerationResult,
    SeedIn,
    SeedResult,
    StatementAdmin,
)
from participation.services import Consultation, Organiser, render_markdown
from participation.state import Services

__all__ = ["export_download", "router"]

router = APIRouter(tags=["admin"])


async def _detail(consultation: Consultation, services: Services, now: Any) -> ConsultationDetail:
    return ConsultationDetail(
        **summary_of(consultation, services, now),
        description=consultation.description,
        description_html=render_markdown(consultation.description),
        question=consultation.question,
        moderation=consultation.moderation,
        allow_statements=consultation.allow_statements,
        statements=await services.consultations.visible_count(consultation.id),
    )


@router.post("/consultations", status_code=status.HTTP_201_CREATED)
async def create_consultation(
    body: ConsultationCreate, organiser: OrganiserDep, services: ServicesDep, clock: ClockDep
) -> ConsultationDetail:
    organiser.require_role("organiser")
    consultation = await services.consultations.create(body, organisation=organiser.organisation)
    return await _detail(consultation, services, clock.now())


@router.get("/consultations")
async def list_own_consultations(
    organiser: OrganiserDep, services: ServicesDep, clock: ClockDep
) -> list[ConsultationSummary]:
    """The consultations of the key's organisation."""
    now = clock.now()
    return [
        ConsultationSummary(**summary_of(c, services, now))
        for c in await services.consultations.list_all()
        if c.organisation == organiser.organisation
    ]


@router.get("/c/{cid}")
async def get_consultation(
    consultation: ConsultationDep, organiser: OrganiserDep, services: ServicesDep, clock: ClockDep
) -> ConsultationDetail:
    organiser.require_owner(consultation)
    return await _detail(consultation, services, clock.now())


@router.patch("/c/{cid}")
async def update_consultation(
    consultation: ConsultationDep,
    body: ConsultationUpdate,
    organiser: OrganiserDep,
    services: ServicesDep,
    clock: ClockDep,
) -> ConsultationDetail:
    organiser.require_role("organiser")
    updated = await services.consultations.update(consultation.id, body, by=organiser)
    return await _detail(updated, services, clock.now())


@router.delete("/c/{cid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_consultation(
    consultation: ConsultationDep, organiser: OrganiserDep, services: ServicesDep
) -> Response:
    """Delete a consultation with its statements, votes and participants (export first)."""
    organiser.require_role("organiser")
    await services.consultations.delete(consultation.id, by=organiser)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/c/{cid}/statements", status_code=status.HTTP_201_CREATED)
async def seed_statements(
    consultation: ConsultationDep, body: SeedIn, organiser: OrganiserDep, services: ServicesDep
) -> SeedResult:
    """Seed statements, approved at once; the first duplicate stops the rest."""
    organiser.require_role("organiser")
    organiser.require_owner(consultation)
    ids = await services.statements.seed(consultation, body.statements, is_meta=body.is_meta)
    return SeedResult(ids=ids)


def _admin_view(statement: Any, queued: bool) -> StatementAdmin:
    return StatementAdmin(
        id=statement.id,
        text=statement.text,
        status=statement.status,
        origin=statement.origin,
        is_meta=statement.is_meta,
        created_day=statement.created_day,
        reason=statement.reason,
        queued=queued,
    )


@router.get("/c/{cid}/statements")
async def list_statements(
    consultation: ConsultationDep, organiser: OrganiserDep, services: ServicesDep
) -> list[StatementAdmin]:
    organiser.require_owner(consultation)
    queued = {s.id for s in await services.statements.queue(consultation.id)}
    return [_admin_view(s, s.id in queued) for s in await services.statements.all(consultation.id)]


@router.get("/c/{cid}/moderation")
async def moderation_queue(
    consultation: ConsultationDep, organiser: OrganiserDep, services: ServicesDep
) -> list[StatementAdmin]:
    """Statements waiting for review, oldest first."""
    organiser.require_owner(consultation)
    return [_admin_view(s, True) for s in await services.statements.queue(consultation.id)]


@router.post("/c/{cid}/moderation")
async def moderate(
    consultation: ConsultationDep,
    body: ModerationIn,
    organiser: OrganiserDep,
    services: ServicesDep,
) -> ModerationResult:
    """Approve or reject one or many statements at once; every change is audited."""
    organiser.require_owner(consultation)
    changed = await services.statements.moderate(
        consultation.id, body.statements, body.action, reason=body.reason, moderator=organiser
    )
    return ModerationResult(action=body.action, statements=body.statements, changed=changed)


@router.get("/c/{cid}/audit")
async def audit_trail(
    consultation: ConsultationDep, organiser: OrganiserDep, services: ServicesDep
) -> list[AuditEntry]:
    organiser.require_owner(consultation)
    return [AuditEntry(**entry) for entry in await services.statements.audit(consultation.id)]


@router.get(
    "/c/{cid}/export/{name}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_file(
    consultation: ConsultationDep, name: str, organiser: OrganiserDep, services: ServicesDep
) -> Response:
    """One file of the Polis-format export (comments, votes, participants-votes, summary)."""
    organiser.require_role("organiser")
    organiser.require_owner(consultation)
    if name not in EXPORT_FILES:
        raise HTTPException(status_code=404)
    export = await services.exports.export(consultation)
    return Response(
        export.files[name],
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{consultation.id}-{name}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/c/{cid}/export.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export_zip(
    consultation: ConsultationDep, organiser: OrganiserDep, services: ServicesDep
) -> Response:
    """All four files of the Polis-format export in one zip archive."""
    return await export_download(consultation, organiser, services)


async def export_download(
    consultation: Consultation, organiser: Organiser, services: Services
) -> Response:
    """The export zip as a download, for the organiser who owns the consultation."""
    organiser.require_role("organiser")
    organiser.require_owner(consultation)
    export = await services.exports.export(consultation)
    return Response(
        export.zip_bytes(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{consultation.id}-polis-export.zip"',
            "Cache-Control": "no-store",
        },
    )
