"""Build deployments in real stores through the documented keys (docs/architecture.md).

Participation keys come from ``participation/store.py``; issuer keys follow the table in
docs/architecture.md (``iss:{c:<cid>}:...``). A citizen's BSN only ever enters through
``subject_key = HMAC(pepper, "digid:" + BSN)``, as the issuer does it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import tokens
from issuer.identifiers import is_valid_bsn, subject_key
from issuer.policy import Policy
from issuer.store import CONSULTATIONS_KEY as ISSUER_CONSULTATIONS_KEY
from issuer.store import keys_key, ledger_key, panel_key, policy_key
from participation.store import (
    CONSULTATIONS_KEY,
    consultation_key,
    participant_key,
    participant_votes_key,
    report_key,
    spent_key,
    statement_key,
    statements_key,
    votes_stream_key,
)

__all__ = [
    "ORGANISATION_ENV",
    "Citizen",
    "Deployment",
    "b64url",
    "issuer_keys_key",
    "ledger_key",
    "make_bsn",
    "panel_key",
    "policy_key",
    "public_key_record",
    "seed_deployment",
]

issuer_keys_key = keys_key

ORGANISATION_ENV = {
    "INSPRAAK_ORGANISATION__NAME": "Gemeente Voorbeeld",
    "INSPRAAK_ORGANISATION__CONTACT": "privacy@voorbeeld.example",
    "INSPRAAK_ORGANISATION__PRIVACY_OFFICER": "FG, fg@voorbeeld.example",
    "INSPRAAK_ORGANISATION__RETENTION": "tot drie maanden na het einde van de raadpleging",
}
"""What the privacy statement must name (art. 13 AVG); without it the audit fails."""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def make_bsn(seed: int) -> str:
    """The ``seed``-th test BSN (9999xxxxx) passing the 11-proef: distinct per seed."""
    found = -1
    for last in range(100_000):
        digits = f"9999{last:05d}"
        if is_valid_bsn(digits):
            found += 1
            if found == seed:
                return digits
    raise AssertionError("no BSN found")


def public_key_record(
    key: rsa.RSAPrivateKey,
    *,
    not_before: str = "2026-01-01",
    not_after: str | None = None,
    seq: int = 1,
) -> tuple[str, str]:
    """``(key id hex, JSON record)`` in the shape ``issuer/keys.py`` stores (sealed private key).

    Keys under 2048 bits (which ``tokens`` refuses) are encoded as a plain SPKI.
    """
    if key.key_size >= 2048:
        spki = tokens.encode_public_key(key.public_key())
        key_id = tokens.token_key_id(key.public_key())
    else:
        spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        key_id = hashlib.sha256(spki).digest()
    record: dict[str, object] = {
        "truncated_token_key_id": key_id[-1],
        "token_key": base64.urlsafe_b64encode(spki).decode(),
        "not_before": not_before,
        "sealed": base64.urlsafe_b64encode(os.urandom(12 + 1232)).decode(),
        "seq": seq,
    }
    if not_after is not None:
        record["not_after"] = not_after
    return key_id.hex(), json.dumps(record)


@dataclass
class Citizen:
    bsn: str
    subject_key: str
    pid: str
    votes: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Deployment:
    cid: str
    citizens: list[Citizen]

    @property
    def truth(self) -> dict[str, str]:
        return {c.subject_key: c.pid for c in self.citizens}


def _day(moment: date) -> int:
    return int(datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp())


def seed_deployment(
    issuer: redis.Redis,
    participation: redis.Redis,
    *,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
    cid: str = "klimaat-2026",
    citizens: int = 12,
    statements: int = 6,
    login_order: Sequence[int] | None = None,
    join_order: Sequence[int] | None = None,
    group_sizes: Sequence[int] = (7, 5),
    key_not_before: date = date(2026, 1, 1),
) -> Deployment:
    """A clean deployment after a full voting session: every key written as the services do.

    Citizens log in (issuer ledger, in ``login_order``) and later join and vote
    (participation side, in ``join_order``); nothing the issuer writes reaches the other side.
    """
    n = citizens
    people = [
        Citizen(
            bsn,
            subject_key(pepper, "digid", bsn),
            b64url(os.urandom(16)),
        )
        for bsn in (make_bsn(i) for i in range(n))
    ]
    opened = date(2026, 1, 1)
    key_id, record = public_key_record(signing_key, not_before=key_not_before.isoformat())
    policy = Policy(closes_at=date(2026, 3, 1))
    issuer.set(policy_key(cid), policy.model_dump_json())
    issuer.sadd(ISSUER_CONSULTATIONS_KEY, cid)
    issuer.hset(issuer_keys_key(cid), key_id, record)
    for index in login_order if login_order is not None else range(n):
        issuer.hincrby(ledger_key(cid), people[index].subject_key, 1)

    participation.zadd(CONSULTATIONS_KEY, {cid: _day(opened)})
    participation.set(
        consultation_key(cid),
        json.dumps(
            {
                "title": "Klimaatplan 2026",
                "question": "Wat vindt u?",
                "opens": opened.isoformat(),
                "closes": "2026-03-01",
                "key_ids": [key_id],
            }
        ),
    )
    for sid in range(1, statements + 1):
        participation.hset(
            statement_key(cid, sid),
            mapping={
                "text": f"Stelling nummer {sid} over het klimaat",
                "status": "approved",
                "origin": "seed",
                "is_meta": 0,
                "created_day": opened.isoformat(),
            },
        )
        participation.zadd(statements_key(cid), {str(sid): sid})
    seq = 0
    for index in join_order if join_order is not None else range(n):
        person = people[index]
        participation.sadd(spent_key(cid), hashlib.sha256(os.urandom(354)).hexdigest())
        participation.hset(
            participant_key(cid, person.pid), mapping={"joined_day": opened.isoformat()}
        )
        for sid in range(1, statements + 1):
            vote = (index + sid) % 3 - 1
            seq += 1
            participation.xadd(
                votes_stream_key(cid), {"p": person.pid, "s": sid, "v": vote}, id=f"{seq}-0"
            )
            participation.hset(participant_votes_key(cid, person.pid), str(sid), vote)
            person.votes.append((sid, vote))
    report = {
        "consultation": cid,
        "participants": n,
        "groups": [
            {"id": g, "size": size, "representative": [1, 2]} for g, size in enumerate(group_sizes)
        ],
        "consensus": [3],
        "seed": 0,
    }
    participation.set(report_key(cid), json.dumps(report))
    return Deployment(cid, people)
