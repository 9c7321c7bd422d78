"""Domain logic of the participation service: consultations, statements, moderation, votes,
routing, reports and organiser API keys. No FastAPI here; every multi-key change is one
Lua script from ``participation/lua/``, every key comes from ``participation/store.py``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import nh3
import structlog
from markdown_it import MarkdownIt

from inspraak.clock import Clock, coarse_time
from inspraak.store import Store
from participation.errors import (
    ApiKeyRequired,
    ConsultationClosed,
    ConsultationExists,
    ConsultationNotOpen,
    DuplicateStatement,
    InvalidInput,
    InvalidStatement,
    NoReport,
    RoleNotAllowed,
    StatementsNotAllowed,
    StoreUnavailable,
    TokenRefused,
    UnknownConsultation,
    UnknownStatement,
    WrongOrganisation,
)
from participation.ratelimit import RateLimiter, load_script
from participation.schemas import CID_PATTERN, ConsultationCreate, ConsultationUpdate
from participation.sessions import SessionSigner
from participation.store import (
    CONSULTATIONS_KEY,
    api_key_key,
    audit_key,
    consultation_key,
    counter_key,
    participant_key,
    participant_votes_key,
    priorities_key,
    queue_key,
    report_key,
    spent_key,
    statement_key,
    statement_texts_key,
    statements_key,
    tag,
    visible_key,
    votes_stream_key,
)
from tokens import (
    ChallengeParams,
    DecodeError,
    Rng,
    TokenChallenge,
    format_www_authenticate,
    parse_authorization,
)
from verifier import (
    AlreadySpent,
    Guard,
    GuardChanged,
    Malformed,
    Redeemer,
    RedemptionError,
    TooManyAttempts,
    VerifierUnavailable,
    consultation_challenge,
    host_of,
    origin_for,
)
from verifier import ConsultationClosed as VerifierClosed

if TYPE_CHECKING:
    from inspraak.settings import Settings

__all__ = [
    "ROLES",
    "VOTE_VALUES",
    "ApiKeyService",
    "Consultation",
    "ConsultationService",
    "JoinService",
    "Joined",
    "Organiser",
    "ParticipantService",
    "ReportService",
    "RoutingService",
    "Statement",
    "StatementService",
    "VoteOutcome",
    "VoteService",
    "digest_text",
    "enforce_min_group_size",
    "normalise_text",
    "render_markdown",
    "shuffled",
]

log = structlog.get_logger(__name__)

VOTE_VALUES: dict[str, int] = {"agree": 1, "disagree": -1, "pass": 0}
"""Polis export convention (docs/architecture.md): agree = 1."""
ROLES = ("organiser", "moderator")
Role = Literal["organiser", "moderator"]
DAY = timedelta(days=1)
API_KEY_PREFIX = "isk_"


def _uniform(rng: Rng) -> float:
    """A float in [0, 1) from 53 random bits."""
    return rng.randbelow(1 << 53) / float(1 << 53)


def shuffled(rng: Rng, items: list[str]) -> list[str]:
    """Fisher-Yates shuffle driven by ``rng``."""
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = rng.randbelow(i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def normalise_text(text: str) -> str:
    """NFC-normalise and collapse every run of whitespace into one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def digest_text(normalised: str) -> str:
    """Key for exact-duplicate detection: case differences do not make a new statement."""
    return hashlib.sha256(normalised.casefold().encode("utf-8")).hexdigest()


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(source: str) -> str:
    """Markdown to safe HTML: raw HTML is off in the parser and nh3 cleans what remains."""
    return nh3.clean(_MARKDOWN.render(source), link_rel="noopener noreferrer nofollow")


def _day_ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _s(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Consultation:
    id: str
    title: str
    description: str
    question: str
    languages: tuple[str, ...]
    opens_at: date
    closes_at: date
    moderation: Literal["strict", "permissive"]
    allow_statements: bool
    organisation: str
    issuer_url: str

    @functools.cached_property
    def opens(self) -> datetime:
        return datetime.fromtimestamp(_day_ts(self.opens_at), UTC)

    @functools.cached_property
    def closes(self) -> datetime:
        """It closes at the end of its last day (UTC)."""
        return datetime.fromtimestamp(_day_ts(self.closes_at), UTC) + DAY

    def status(self, now: datetime) -> Literal["upcoming", "open", "closed"]:
        if now < self.opens:
            return "upcoming"
        if now >= self.closes:
            return "closed"
        return "open"

    def require_open(self, now: datetime) -> None:
        status = self.status(now)
        if status == "closed":
            raise ConsultationClosed()
        if status == "upcoming":
            raise ConsultationNotOpen()

    @property
    def directory_url(self) -> str:
        return (
            f"{self.issuer_url.rstrip('/')}/c/{self.id}/.well-known/private-token-issuer-directory"
        )

    def guarded_fields(self) -> dict[str, str]:
        """The stored fields a join relies on (opening, closing, issuer: the challenge): a
        join from a cached copy spends only while the record still holds these."""
        return {
            "opens_at": self.opens_at.isoformat(),
            "closes_at": self.closes_at.isoformat(),
            "issuer_url": self.issuer_url,
        }

    def to_fields(self) -> dict[str, str]:
        return {
            "title": self.title,
            "description": self.description,
            "question": self.question,
            "languages": ",".join(self.languages),
            "opens_at": self.opens_at.isoformat(),
            "closes_at": self.closes_at.isoformat(),
            "opens_ts": str(int(self.opens.timestamp())),
            "closes_ts": str(int(self.closes.timestamp())),
            "moderation": self.moderation,
            "allow_statements": "1" if self.allow_statements else "0",
            "organisation": self.organisation,
            "issuer_url": self.issuer_url,
        }

    @classmethod
    def from_fields(cls, cid: str, raw: dict[Any, Any]) -> Consultation:
        f = {_s(k): _s(v) for k, v in raw.items()}
        moderation: Literal["strict", "permissive"] = (
            "permissive" if f.get("moderation") == "permissive" else "strict"
        )
        return cls(
            id=cid,
            title=f.get("title", ""),
            description=f.get("description", ""),
            question=f.get("question", ""),
            languages=tuple(x for x in f.get("languages", "nl").split(",") if x),
            opens_at=date.fromisoformat(f["opens_at"]),
            closes_at=date.fromisoformat(f["closes_at"]),
            moderation=moderation,
            allow_statements=f.get("allow_statements") == "1",
            organisation=f.get("organisation", ""),
            issuer_url=f.get("issuer_url", ""),
        )


@dataclass(frozen=True)
class Organiser:
    """Who holds an API key: its name (shown in the audit trail), organisation and role."""

    name: str
    organisation: str
    role: Role

    def require_role(self, *allowed: Role) -> None:
        if self.role not in allowed:
            raise RoleNotAllowed()

    def require_owner(self, consultation: Consultation) -> None:
        if not hmac.compare_digest(consultation.organisation, self.organisation):
            raise WrongOrganisation()


@dataclass(frozen=True)
class Statement:
    id: int
    text: str
    status: str
    origin: str
    is_meta: bool
    created_day: str
    author: str
    reason: str

    @classmethod
    def from_fields(cls, sid: int, raw: dict[Any, Any]) -> Statement:
        f = {_s(k): _s(v) for k, v in raw.items()}
        return cls(
            id=sid,
            text=f.get("text", ""),
            status=f.get("status", ""),
            origin=f.get("origin", ""),
            is_meta=f.get("is_meta") == "1",
            created_day=f.get("created_day", ""),
            author=f.get("author", ""),
            reason=f.get("reason", ""),
        )


CACHED_CONSULTATIONS = 4096
"""Consultation records a process keeps for joins (:meth:`ConsultationService.cached`)."""


class ConsultationService:
    """Create, change, read and list consultations.

    Every read also refreshes an in-process copy that joins work from
    (:meth:`cached`); a join's spend script checks the copy's fields against the stored
    record (``Consultation.guarded_fields``), so a change made anywhere is seen at once.
    """

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        settings: Settings,
        challenge: Callable[[Consultation], TokenChallenge],
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._challenge = challenge
        self._create: Any = store.register_script(load_script("create_consultation"))
        self._update: Any = store.register_script(load_script("update_consultation"))
        self._cache: dict[str, Consultation] = {}

    def challenge(self, consultation: Consultation) -> TokenChallenge:
        """The consultation's fixed TokenChallenge (RFC 9577 §2.1)."""
        return self._challenge(consultation)

    async def create(self, data: ConsultationCreate, *, organisation: str) -> Consultation:
        consultation = Consultation(
            id=data.id,
            title=data.title,
            description=data.description,
            question=data.question,
            languages=tuple(dict.fromkeys(data.languages)),
            opens_at=data.opens_at,
            closes_at=data.closes_at,
            moderation=data.moderation,
            allow_statements=data.allow_statements,
            organisation=organisation,
            issuer_url=str(data.issuer_url).rstrip("/")
            if data.issuer_url
            else self._settings.issuer_url.rstrip("/"),
        )
        fields = consultation.to_fields()
        fields["created_day"] = (
            coarse_time(self._clock.now(), self._settings.timestamp_resolution_seconds)
            .date()
            .isoformat()
        )
        args = [part for pair in fields.items() for part in pair]
        created = await self._create(keys=[consultation_key(data.id)], args=args)
        if not int(created):
            # Repair a listing lost to a failure between the two writes, then refuse.
            await self._store.zadd(CONSULTATIONS_KEY, {data.id: _day_ts(data.opens_at)}, nx=True)
            raise ConsultationExists()
        # The listing is a cross-slot index: a separate write, repaired above if it was lost.
        await self._store.zadd(CONSULTATIONS_KEY, {data.id: _day_ts(data.opens_at)})
        log.info("consultation_created", cid=data.id)
        return consultation

    async def update(self, cid: str, data: ConsultationUpdate, *, by: Organiser) -> Consultation:
        current = await self.get(cid)
        by.require_owner(current)
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "languages" in changes:
            changes["languages"] = tuple(dict.fromkeys(changes["languages"]))
        if "issuer_url" in changes:
            changes["issuer_url"] = str(changes["issuer_url"]).rstrip("/")
        updated = dataclasses.replace(current, **changes)
        if updated.closes_at < updated.opens_at:
            raise InvalidInput("closes_at must not be before opens_at")
        fields = updated.to_fields()
        args = [part for pair in fields.items() for part in pair]
        if not int(await self._update(keys=[consultation_key(cid)], args=args)):
            raise UnknownConsultation()
        await self._store.zadd(CONSULTATIONS_KEY, {cid: _day_ts(updated.opens_at)})
        self._remember(updated)
        log.info("consultation_updated", cid=cid, fields=sorted(changes))
        return updated

    async def delete(self, cid: str, *, by: Organiser) -> int:
        """Remove a consultation and everything of it (retention), except the spent-token set.

        The consultation hash goes first, so every script refuses further writes; then the
        rest is unlinked in batches. The spent set stays until it expires, so that old tokens
        cannot join a new consultation that reuses the id.
        """
        current = await self.get(cid)
        by.require_owner(current)
        await self._store.delete(consultation_key(cid))
        self._cache.pop(cid, None)
        await self._store.zrem(CONSULTATIONS_KEY, cid)
        removed = 1
        keep = spent_key(cid).encode()
        batch: list[Any] = []
        async for key in self._store.scan_iter(match=f"{tag(cid)}:*", count=1000):
            if key == keep or key == keep.decode():
                continue
            batch.append(key)
            if len(batch) >= 500:
                removed += int(await self._store.unlink(*batch))
                batch.clear()
        if batch:
            removed += int(await self._store.unlink(*batch))
        log.info("consultation_deleted", cid=cid, keys=removed)
        return removed

    async def get(self, cid: str) -> Consultation:
        """The consultation as stored now (and the cached copy refreshed)."""
        raw = await self._store.hgetall(consultation_key(cid))
        if not raw:
            self._cache.pop(cid, None)
            raise UnknownConsultation()
        consultation = Consultation.from_fields(cid, raw)
        self._remember(consultation)
        return consultation

    async def cached(self, cid: str) -> Consultation:
        """The copy last read by this process, else as stored. Only for work whose store
        step checks ``guarded_fields`` (the join); a refusal is decided on a fresh read."""
        found = self._cache.get(cid)
        return found if found is not None else await self.get(cid)

    def _remember(self, consultation: Consultation) -> None:
        if consultation.id not in self._cache and len(self._cache) >= CACHED_CONSULTATIONS:
            del self._cache[next(iter(self._cache))]
        self._cache[consultation.id] = consultation

    async def visible_count(self, cid: str) -> int:
        return int(await self._store.scard(visible_key(cid)))

    async def list_all(self) -> list[Consultation]:
        """Every consultation, open and closed, newest opening first."""
        ids = [_s(x) for x in await self._store.zrevrange(CONSULTATIONS_KEY, 0, -1)]
        if not ids:
            return []
        pipe = self._store.pipeline(transaction=False)
        for cid in ids:
            pipe.hgetall(consultation_key(cid))
        rows = await pipe.execute()
        return [
            Consultation.from_fields(cid, raw) for cid, raw in zip(ids, rows, strict=True) if raw
        ]


class StatementService:
    """Seed and participant statements, the moderation queue and its audit trail."""

    def __init__(
        self, *, store: Store, clock: Clock, settings: Settings, limiter: RateLimiter
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._limiter = limiter
        self._add: Any = store.register_script(load_script("add_statement"))
        self._moderate: Any = store.register_script(load_script("moderate"))

    def _day(self) -> str:
        return (
            coarse_time(self._clock.now(), self._settings.timestamp_resolution_seconds)
            .date()
            .isoformat()
        )

    def _check_length(self, normalised: str) -> None:
        p = self._settings.participation
        if not p.statement_min_chars <= len(normalised) <= p.statement_max_chars:
            raise InvalidStatement(min_chars=p.statement_min_chars, max_chars=p.statement_max_chars)

    async def _insert(
        self,
        consultation: Consultation,
        text: str,
        *,
        origin: Literal["seed", "participant"],
        is_meta: bool,
        author: str,
    ) -> tuple[int, str]:
        normalised = normalise_text(text)
        self._check_length(normalised)
        cid = consultation.id
        participant = origin == "participant"
        if participant and consultation.moderation == "strict":
            status, queued = "pending", True
        elif participant:
            status, queued = "approved", True  # permissive: visible at once, still reviewed
        else:
            status, queued = "approved", False
        # The id is taken first (a gap after a refusal is harmless); then one script writes.
        sid = int(await self._store.incr(counter_key(cid, "statement_seq"))) - 1
        result = await self._add(
            keys=[
                consultation_key(cid),
                statement_key(cid, sid),
                statements_key(cid),
                statement_texts_key(cid),
                visible_key(cid),
                queue_key(cid),
            ],
            args=[
                sid,
                normalised,
                digest_text(normalised),
                origin,
                "1" if is_meta else "0",
                self._day(),
                status,
                "1" if queued else "0",
                author,
                int(self._clock.now().timestamp()),
                "1" if participant else "0",
            ],
        )
        outcome = _s(result[0])
        if outcome == "dup":
            raise DuplicateStatement(int(result[1]))
        if outcome == "unknown":
            raise UnknownConsultation()
        if outcome == "closed":
            raise ConsultationClosed()
        if outcome == "not_open":
            raise ConsultationNotOpen()
        if outcome == "not_allowed":
            raise StatementsNotAllowed()
        return sid, status

    async def seed(
        self, consultation: Consultation, texts: Iterable[str], *, is_meta: bool = False
    ) -> list[int]:
        """Add organiser statements (approved at once); duplicates are refused one by one."""
        sids = []
        for text in texts:
            sid, _ = await self._insert(
                consultation, text, origin="seed", is_meta=is_meta, author=""
            )
            sids.append(sid)
        log.info("statements_seeded", cid=consultation.id, count=len(sids))
        return sids

    async def submit(self, consultation: Consultation, pid: str, text: str) -> tuple[int, str]:
        """A participant's statement: pending (strict) or visible at once (permissive)."""
        if not consultation.allow_statements:
            raise StatementsNotAllowed()
        consultation.require_open(self._clock.now())
        self._check_length(normalise_text(text))  # a refused text does not count
        await self._limiter.hit(
            consultation.id,
            "statements",
            pid,
            limit=self._settings.participation.statements_per_hour,
            seconds=3600,
        )
        sid, status = await self._insert(
            consultation, text, origin="participant", is_meta=False, author=pid
        )
        log.info("statement_submitted", cid=consultation.id, statement=sid, status=status)
        return sid, status

    async def get(self, cid: str, sid: int) -> Statement:
        raw = await self._store.hgetall(statement_key(cid, sid))
        if not raw:
            raise UnknownStatement()
        return Statement.from_fields(sid, raw)

    async def many(self, cid: str, sids: list[int]) -> list[Statement]:
        if not sids:
            return []
        pipe = self._store.pipeline(transaction=False)
        for sid in sids:
            pipe.hgetall(statement_key(cid, sid))
        rows = await pipe.execute()
        return [Statement.from_fields(sid, raw) for sid, raw in zip(sids, rows, strict=True) if raw]

    async def all(self, cid: str) -> list[Statement]:
        sids = [int(_s(x)) for x in await self._store.zrange(statements_key(cid), 0, -1)]
        return await self.many(cid, sids)

    async def queue(self, cid: str) -> list[Statement]:
        sids = [int(_s(x)) for x in await self._store.zrange(queue_key(cid), 0, -1)]
        return await self.many(cid, sids)

    async def moderate(
        self,
        cid: str,
        sids: list[int],
        action: Literal["approve", "reject"],
        *,
        reason: str,
        moderator: Organiser,
    ) -> int:
        """Approve or reject statements, all or none, each recorded in the audit trail."""
        result = await self._moderate(
            keys=[visible_key(cid), queue_key(cid), audit_key(cid)]
            + [statement_key(cid, sid) for sid in sids],
            args=[action, reason, moderator.name, self._day(), *sids],
        )
        if _s(result[0]) == "unknown":
            raise UnknownStatement(f"statement {_s(result[1])}")
        changed = int(result[1])
        log.info("statements_moderated", cid=cid, action=action, count=len(sids))
        return changed

    async def audit(self, cid: str) -> list[dict[str, Any]]:
        entries = await self._store.lrange(audit_key(cid), 0, -1)
        out = []
        for raw in entries:
            entry = json.loads(_s(raw))
            if entry.get("before") in ("", None) or isinstance(entry.get("before"), bool):
                entry["before"] = None
            out.append(entry)
        return out


@dataclass(frozen=True)
class VoteOutcome:
    changed: bool
    previous: int | None


class VoteService:
    """Votes: one script appends to the stream and folds into the participant's vote state."""

    def __init__(
        self, *, store: Store, clock: Clock, settings: Settings, limiter: RateLimiter
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._limiter = limiter
        self._vote: Any = store.register_script(load_script("vote"))

    async def vote(self, cid: str, pid: str, sid: int, choice: str) -> VoteOutcome:
        """Record a vote (latest wins); a repeated identical vote changes and counts nothing."""
        value = VOTE_VALUES[choice]
        window = self._limiter.window(
            cid, "votes", pid, limit=self._settings.participation.votes_per_minute, seconds=60
        )
        result = await self._vote(
            keys=[
                consultation_key(cid),
                visible_key(cid),
                participant_votes_key(cid, pid),
                votes_stream_key(cid),
                counter_key(cid, "vote_seq"),
                *window.keys,
            ],
            args=[pid, sid, value, int(window.ts), *window.args],
        )
        outcome = _s(result[0])
        if outcome == "ok":
            previous = _s(result[2])
            return VoteOutcome(changed=True, previous=int(previous) if previous else None)
        if outcome == "same":
            return VoteOutcome(changed=False, previous=value)
        if outcome == "limited":
            raise window.refused(int(result[1]), int(result[2]))
        raise {
            "unknown": UnknownConsultation,
            "closed": ConsultationClosed,
            "not_open": ConsultationNotOpen,
            "unknown_statement": UnknownStatement,
        }[outcome]()


class RoutingService:
    """Which statement a participant sees next: weighted by the analysis' priorities."""

    def __init__(self, *, store: Store, rng: Rng) -> None:
        self._store = store
        self._rng = rng

    async def next(self, cid: str, pid: str) -> tuple[Statement | None, int, int]:
        """(an unvoted visible statement or None, voted, total) over the visible statements."""
        pipe = self._store.pipeline(transaction=False)
        pipe.smembers(visible_key(cid))
        pipe.hkeys(participant_votes_key(cid, pid))
        pipe.hgetall(priorities_key(cid))
        visible_raw, voted_raw, priorities_raw = await pipe.execute()
        visible = {int(_s(x)) for x in visible_raw}
        voted = {int(_s(x)) for x in voted_raw} & visible
        candidates = sorted(visible - voted)
        if not candidates:
            return None, len(voted), len(visible)
        priorities = {}
        for k, v in priorities_raw.items():
            try:
                priorities[int(_s(k))] = max(0.0, float(_s(v)))
            except ValueError:
                continue
        sid = self._choose(candidates, priorities)
        raw = await self._store.hgetall(statement_key(cid, sid))
        return Statement.from_fields(sid, raw), len(voted), len(visible)

    def _choose(self, candidates: list[int], priorities: dict[int, float]) -> int:
        if not priorities:
            return candidates[self._rng.randbelow(len(candidates))]
        # A statement newer than the last analysis gets the highest known priority
        # (Polis shows new statements early so they gather votes).
        fresh = max(priorities.values()) or 1.0
        weights = [priorities.get(sid, fresh) for sid in candidates]
        total = sum(weights)
        if total <= 0:
            return candidates[self._rng.randbelow(len(candidates))]
        point = _uniform(self._rng) * total
        for sid, weight in zip(candidates, weights, strict=True):
            point -= weight
            if point < 0:
                return sid
        return candidates[-1]


class ParticipantService:
    """Participant records: a random id and the day of joining; nothing else."""

    def __init__(self, *, store: Store, clock: Clock, settings: Settings, rng: Rng) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._rng = rng

    def new_id(self) -> str:
        """A fresh participant id: 16 random bytes, base64url, 22 characters."""
        return base64.urlsafe_b64encode(self._rng.token_bytes(16)).decode().rstrip("=")

    def record(self, cid: str) -> tuple[str, str, dict[str, str]]:
        """A fresh participant: its id, and the key and fields of its record, for the join
        to write in the same script as the token's spend."""
        pid = self.new_id()
        day = coarse_time(self._clock.now(), self._settings.timestamp_resolution_seconds)
        return pid, participant_key(cid, pid), {"joined_day": day.date().isoformat()}

    async def create(self, cid: str) -> str:
        """A participant record written on its own (the demo and benchmarks; joins use
        :meth:`record`)."""
        pid, key, fields = self.record(cid)
        await self._store.hset(key, mapping={k: v for k, v in fields.items()})
        return pid


class ReportService:
    """Serves the analysis worker's latest report, without groups below the minimum size."""

    def __init__(self, *, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    async def _stored(self, cid: str) -> dict[str, Any]:
        raw = await self._store.get(report_key(cid))
        if raw is None:
            raise NoReport()
        report = json.loads(_s(raw))
        if not isinstance(report, dict):
            raise NoReport()
        return report

    async def report(self, cid: str) -> dict[str, Any]:
        report = await self._stored(cid)
        return enforce_min_group_size(report, self._settings.participation.min_group_size)

    async def standing(self, cid: str, pid: str) -> dict[str, Any]:
        """Where one participant stands: their own group (if shown) and what it agrees on."""
        voted = int(await self._store.hlen(participant_votes_key(cid, pid)))
        try:
            report = await self._stored(cid)
        except NoReport:
            return {"voted": voted, "group": None, "group_size": None, "representative": []}
        public = enforce_min_group_size(report, self._settings.participation.min_group_size)
        labels = report.get("participants")
        label = labels.get(pid) if isinstance(labels, dict) else None
        group = next(
            (g for g in public.get("groups", []) if isinstance(g, dict) and g.get("id") == label),
            None,
        )
        if label is None or group is None:
            return {"voted": voted, "group": None, "group_size": None, "representative": []}
        return {
            "voted": voted,
            "group": label,
            "group_size": _group_size(group),
            "representative": group.get("representative", []),
        }


def _group_size(group: Any) -> int | None:
    if not isinstance(group, dict):
        return None
    for key in ("size", "n", "participants", "n_participants", "members"):
        value = group.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, list):
            return len(value)
    return None


def enforce_min_group_size(report: dict[str, Any], minimum: int) -> dict[str, Any]:
    """The public report: no group smaller than ``minimum``, no participant ids.

    The worker already withholds small groups; this is the second line. Per-participant
    maps (``participants``, ``projections``) become anonymous, sorted ``points``
    ``[x, y, group]`` so that the opinion map can still be drawn.
    """
    out = dict(report)
    groups = report.get("groups")
    dropped: set[Any] = set()
    if isinstance(groups, list):
        kept = []
        for group in groups:
            size = _group_size(group)
            if size is not None and size < minimum:
                dropped.add(group.get("id") if isinstance(group, dict) else None)
                continue
            kept.append(group)
        out["groups"] = kept
    labels = report.get("participants")
    projections = report.get("projections")
    out.pop("participants", None)
    out.pop("projections", None)
    if isinstance(projections, dict):
        labels = labels if isinstance(labels, dict) else {}
        points = []
        for pid, xy in projections.items():
            group = labels.get(pid)
            if group in dropped:
                group = None
            if isinstance(xy, list) and len(xy) == 2:
                points.append([xy[0], xy[1], group])
        out["points"] = sorted(points, key=lambda p: (str(p[0]), str(p[1]), str(p[2])))
    return out


class ApiKeyService:
    """Organiser API keys: random, shown once, stored only as SHA-256 with name/org/role."""

    def __init__(self, *, store: Store, clock: Clock, settings: Settings, rng: Rng) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._rng = rng

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    async def create(self, *, name: str, organisation: str, role: str) -> str:
        """Make a key; the caller shows it once, only its hash is kept."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if not name.strip() or not organisation.strip():
            raise InvalidInput("name and organisation are required")
        key = API_KEY_PREFIX + base64.urlsafe_b64encode(self._rng.token_bytes(32)).decode().rstrip(
            "="
        )
        day = coarse_time(self._clock.now(), self._settings.timestamp_resolution_seconds)
        await self._store.hset(
            api_key_key(self._hash(key)),
            mapping={
                "name": name.strip(),
                "organisation": organisation.strip(),
                "role": role,
                "created_day": day.date().isoformat(),
            },
        )
        log.info("api_key_created", organisation=organisation.strip(), role=role)
        return key

    async def authenticate(self, key: str | None) -> Organiser:
        if not key or not key.startswith(API_KEY_PREFIX) or len(key) > 200:
            raise ApiKeyRequired()
        raw = await self._store.hgetall(api_key_key(self._hash(key)))
        if not raw:
            raise ApiKeyRequired()
        f = {_s(k): _s(v) for k, v in raw.items()}
        role: Role = "organiser" if f.get("role") == "organiser" else "moderator"
        return Organiser(name=f.get("name", ""), organisation=f.get("organisation", ""), role=role)

    async def revoke(self, key: str) -> bool:
        return bool(await self._store.delete(api_key_key(self._hash(key))))


@dataclass(frozen=True)
class Joined:
    pid: str
    session: str
    expires: datetime


_CID = re.compile(CID_PATTERN)
_JOIN_TRIES = 3
"""A join re-reads its consultation after a changed guard; this many changes in a row are
answered 503 (someone is rewriting the consultation as fast as it is read)."""


def _presents_token(authorization: str) -> bool:
    return authorization.lstrip()[:12].lower() == "privatetoken"


class JoinService:
    """Join: spend a Privacy Pass token once, then hand out a session for a fresh random id.

    Order: consultation open (injected clock), a PrivateToken presented (else the RFC 9577
    challenge), parse and verify, then one store round trip: the verifier's spend script
    checks that the consultation still holds the fields this process cached
    (``Consultation.guarded_fields``), checks and counts the client's join attempts in this
    consultation, spends the token and writes the participant record, all or nothing. A
    token that fails before the store still counts as an attempt (one round trip, same
    guard). Every refusal is decided on the stored consultation, never on a stale copy.
    Nothing of the token is kept here.
    """

    def __init__(
        self,
        *,
        redeemer: Redeemer,
        participants: ParticipantService,
        consultations: ConsultationService,
        limiter: RateLimiter,
        signer: SessionSigner,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._redeemer = redeemer
        self._participants = participants
        self._consultations = consultations
        self._limiter = limiter
        self._signer = signer
        self._clock = clock
        self._settings = settings
        self._origin = origin_for(settings)
        self._challenges: dict[tuple[str, str], TokenChallenge] = {}

    def challenge(self, consultation: Consultation) -> TokenChallenge:
        """The consultation's fixed TokenChallenge (RFC 9577 §2.1, docs/architecture.md)."""
        key = (consultation.id, consultation.issuer_url)
        found = self._challenges.get(key)
        if found is None:
            found = consultation_challenge(
                host_of(consultation.issuer_url), self._origin, consultation.id
            )
            if len(self._challenges) >= CACHED_CONSULTATIONS:
                self._challenges.clear()
            self._challenges[key] = found
        return found

    async def www_authenticate(self, consultation: Consultation) -> str | None:
        """``WWW-Authenticate: PrivateToken ...``, one challenge per current key (RFC 9577 §2.1)."""
        try:
            keys = await self._redeemer.current_keys(consultation.id)
        except VerifierUnavailable as exc:
            raise StoreUnavailable() from exc
        if not keys:
            return None
        challenge = self.challenge(consultation)
        max_age = self._settings.verifier.challenge_max_age
        return format_www_authenticate(
            ChallengeParams(challenge, key.token_key, max_age) for key in keys
        )

    async def join(self, cid: str, authorization: str | None, *, client: str | None) -> Joined:
        """Join ``cid`` with the token in ``authorization`` from ``client`` (an address,
        only ever hashed; None: no per-client limit).

        Raises:
            UnknownConsultation, ConsultationClosed, ConsultationNotOpen, TokenRefused,
            RateLimited, StoreUnavailable.
        """
        if not _CID.fullmatch(cid):
            raise UnknownConsultation()
        if authorization is None or not _presents_token(authorization):
            # The RFC 9577 challenge itself is free: only presented tokens count as attempts.
            consultation = await self._consultations.get(cid)
            consultation.require_open(self._clock.now())
            raise TokenRefused(await self.www_authenticate(consultation))
        consultation = await self._consultations.cached(cid)
        fresh = False
        for _ in range(_JOIN_TRIES):
            now = self._clock.now()
            if not fresh and consultation.status(now) != "open":
                consultation, fresh = await self._consultations.get(cid), True
            consultation.require_open(now)
            try:
                return await self._join(consultation, authorization, client, fresh=fresh)
            except GuardChanged:
                consultation, fresh = await self._consultations.get(cid), True
        raise StoreUnavailable()

    async def _join(
        self, consultation: Consultation, authorization: str, client: str | None, *, fresh: bool
    ) -> Joined:
        cid = consultation.id
        guard = Guard(consultation_key(cid), consultation.guarded_fields())
        window = (
            None
            if client is None
            else self._limiter.client_window(
                cid,
                client,
                limit=self._settings.participation.joins_per_hour_per_client,
                seconds=3600,
            )
        )
        pid, record_key, fields = self._participants.record(cid)
        try:
            try:
                token = parse_authorization(authorization)
            except DecodeError:
                raise Malformed from None
            await self._redeemer.redeem(
                cid,
                token,
                challenge=self.challenge(consultation),
                closes_at=consultation.closes,
                record=(record_key, fields),
                guard=guard,
                attempts=None if window is None else window.attempts(),
            )
        except RedemptionError as exc:
            if not isinstance(exc, AlreadySpent):
                # Refused before the store: still an attempt, counted under the same guard.
                if window is not None:
                    await self._limiter.count(window, guard=guard)
                elif not fresh:
                    raise GuardChanged from None
            log.info("join_refused", cid=cid, reason=exc.reason)
            raise TokenRefused(await self.www_authenticate(consultation)) from None
        except TooManyAttempts as exc:
            if window is None:  # only raised for a window given
                raise
            raise window.refused(exc.current, exc.previous) from None
        except VerifierClosed:
            raise ConsultationClosed() from None
        except VerifierUnavailable as exc:
            raise StoreUnavailable() from exc
        log.info("participant_joined", cid=cid)
        session = self._signer.issue(cid, pid, expires=consultation.closes)
        return Joined(pid=pid, session=session, expires=consultation.closes)
