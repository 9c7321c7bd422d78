"""Planted violations in real stores are found with the right check, severity and place;
a clean deployment after a full voting session yields no findings; the audit only reads."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from inspraak.audit import (
    ALLOWED_COMMANDS,
    AuditOptions,
    AuditReport,
    ReadOnlyStore,
    Severity,
    WriteAttempted,
    audit_deployment,
    run_audit,
    take_snapshot,
)
from inspraak.audit.render import render_json
from participation.store import (
    participant_key,
    report_key,
    spent_key,
    statement_key,
    votes_stream_key,
)
from tests.audit.world import (
    Deployment,
    b64url,
    issuer_keys_key,
    ledger_key,
    panel_key,
    policy_key,
    public_key_record,
    seed_deployment,
)


def audit(issuer: redis.Redis, participation: redis.Redis, options: AuditOptions) -> AuditReport:
    return run_audit(
        options=options,
        issuer=take_snapshot(issuer, side="issuer"),
        participation=take_snapshot(participation, side="participation"),
    )


@pytest.fixture
def deployment(
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    pepper: bytes,
) -> Deployment:
    return seed_deployment(issuer_store, sync_store, signing_key=signing_key, pepper=pepper)


def test_clean_deployment_after_voting_has_no_findings(
    deployment: Deployment,
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    options: AuditOptions,
) -> None:
    report = audit(issuer_store, sync_store, options)
    assert report.findings == []
    assert report.exit_code == 0
    assert sync_store.xlen(votes_stream_key(deployment.cid)) == 12 * 6  # it did read a session


@dataclass(frozen=True)
class Plant:
    name: str
    write: Callable[[redis.Redis, redis.Redis, Deployment], object]
    check: str
    severity: Severity
    side: str
    key: Callable[[Deployment], str]
    part: str | None = None


def _pkey(d: Deployment) -> str:
    return participant_key(d.cid, d.citizens[0].pid)


def _token() -> bytes:
    return b"\x00\x02" + os.urandom(352)


PLANTS = [
    Plant(
        "bsn-in-participant",
        lambda i, p, d: p.hset(_pkey(d), "hint", d.citizens[0].bsn),
        "participation.identifier", Severity.high, "participation store", _pkey, "field hint",
    ),
    Plant(
        "ipv4-in-key-name",
        lambda i, p, d: p.set(f"{{c:{d.cid}}}:ratelimit:203.0.113.9", 1),
        "participation.identifier", Severity.high, "participation store",
        lambda d: f"{{c:{d.cid}}}:ratelimit:<ipv4>", "key name",
    ),
    Plant(
        "ipv6-in-participant",
        lambda i, p, d: p.hset(_pkey(d), "seen_from", "2001:db8:85a3::8a2e:370:7334"),
        "participation.identifier", Severity.high, "participation store", _pkey, "field seen_from",
    ),
    Plant(
        "kvk-in-participant",
        lambda i, p, d: p.hset(_pkey(d), "kvk", "69599084"),
        "participation.identifier", Severity.high, "participation store", _pkey, "field kvk",
    ),
    Plant(
        "email-in-statement-text",
        lambda i, p, d: p.hset(statement_key(d.cid, 1), "text", "Mail mij op jan@voorbeeld.nl"),
        "participation.identifier-in-text", Severity.medium, "participation store",
        lambda d: statement_key(d.cid, 1), "field text",
    ),
    Plant(
        "raw-token-in-spent-set",
        lambda i, p, d: p.sadd(spent_key(d.cid), _token()),
        "participation.token-bytes", Severity.high, "participation store",
        lambda d: spent_key(d.cid), "member #0 (354-byte opaque value)",
    ),
    Plant(
        "base64url-token-in-participant",
        lambda i, p, d: p.hset(_pkey(d), "t", b64url(_token())),
        "participation.token-bytes", Severity.high, "participation store", _pkey, "field t",
    ),
    Plant(
        "bsn-in-report",
        lambda i, p, d: p.set(
            report_key(d.cid), json.dumps({"groups": [{"size": 9, "note": d.citizens[1].bsn}]})
        ),
        "analysis.identifier", Severity.high, "participation store",
        lambda d: report_key(d.cid), "value",
    ),
    Plant(
        "plain-bsn-in-ledger",
        lambda i, p, d: i.hincrby(ledger_key(d.cid), d.citizens[2].bsn, 1),
        "issuer.plain-identifier", Severity.high, "issuer store",
        lambda d: ledger_key(d.cid), None,
    ),
    Plant(
        "unhashed-subject-in-ledger",
        lambda i, p, d: i.hincrby(ledger_key(d.cid), "digid-user-17", 1),
        "issuer.subject-format", Severity.medium, "issuer store",
        lambda d: ledger_key(d.cid), "field digid-user-17",
    ),
    Plant(
        "plain-kvk-in-panel",
        lambda i, p, d: i.sadd(panel_key(d.cid), "69599084"),
        "issuer.plain-identifier", Severity.high, "issuer store",
        lambda d: panel_key(d.cid), "member #0 (8-digit number)",
    ),
    Plant(
        "token-on-issuer-side",
        lambda i, p, d: i.set("iss:debug:last", base64.b64encode(_token())),
        "issuer.token-bytes", Severity.high, "issuer store", lambda d: "iss:debug:last", "value",
    ),
    Plant(
        "epoch-seconds-in-participant",
        lambda i, p, d: p.hset(_pkey(d), "joined_at", 1768473067),
        "store.fine-timestamp", Severity.high, "participation store", _pkey, "field joined_at",
    ),
    Plant(
        "iso-datetime-in-statement",
        lambda i, p, d: p.hset(statement_key(d.cid, 2), "created", "2026-01-15T10:31:07Z"),
        "store.fine-timestamp", Severity.high, "participation store",
        lambda d: statement_key(d.cid, 2), "field created",
    ),
    Plant(
        "epoch-ms-on-issuer-side",
        lambda i, p, d: i.hset(ledger_key(d.cid) + ":meta", "issued_ms", 1768473067123),
        "store.fine-timestamp", Severity.high, "issuer store",
        lambda d: ledger_key(d.cid) + ":meta", "field issued_ms",
    ),
    Plant(
        "expiring-rate-window-is-a-note",
        lambda i, p, d: p.set(f"{{c:{d.cid}}}:rl:x", 1768473067123, ex=60),
        "store.fine-timestamp", Severity.info, "participation store",
        lambda d: f"{{c:{d.cid}}}:rl:x", "value",
    ),
    Plant(
        "wallclock-stream-ids",
        lambda i, p, d: p.xadd(votes_stream_key("tweede"), {"p": "x", "s": 1, "v": 1}),
        "store.wallclock-stream-id", Severity.high, "participation store",
        lambda d: votes_stream_key("tweede"), None,
    ),
    Plant(
        "small-group-in-report",
        lambda i, p, d: p.set(
            report_key(d.cid), json.dumps({"groups": [{"size": 9}, {"members": [1, 2, 3]}]})
        ),
        "report.small-group", Severity.high, "participation store",
        lambda d: report_key(d.cid), "value",
    ),
    Plant(
        "subject-key-on-participation-side",
        lambda i, p, d: p.hset(_pkey(d), "ref", d.citizens[0].subject_key),
        "cross.shared-value", Severity.high, "participation store", _pkey, "field ref",
    ),
    Plant(
        "subject-key-prefix-in-other-encoding",
        lambda i, p, d: p.hset(
            _pkey(d), "ref", b64url(bytes.fromhex(d.citizens[3].subject_key)[:12])
        ),
        "cross.shared-value", Severity.high, "participation store", _pkey, "field ref",
    ),
]  # fmt: skip


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.name)
def test_planted_violation_is_found(
    plant: Plant,
    deployment: Deployment,
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    options: AuditOptions,
) -> None:
    plant.write(issuer_store, sync_store, deployment)
    report = audit(issuer_store, sync_store, options)
    hits = [f for f in report.findings if f.check == plant.check]
    assert hits, f"{plant.check} not found; got {[f.check for f in report.findings]}"
    expected_key = plant.key(deployment)
    where = [f for f in hits if f.location.key == expected_key]
    assert where, [str(f.location) for f in hits]
    finding = where[0]
    assert finding.severity is plant.severity
    assert finding.location.source == plant.side
    if plant.part is not None:
        assert finding.location.part == plant.part
    assert report.exit_code == (1 if plant.severity is Severity.high else 0)
    shown = render_json(report)  # the report never repeats what it found
    for citizen in deployment.citizens:
        assert citizen.bsn not in shown and citizen.subject_key not in shown
    assert "203.0.113.9" not in shown and "69599084" not in shown


def _key_case(
    issuer_store: redis.Redis, cid: str, record: str | bytes, closes_at: str = "2026-03-01"
) -> None:
    issuer_store.set(policy_key(cid), json.dumps({"closes_at": closes_at}))
    issuer_store.hset(issuer_keys_key(cid), "aa" * 32, record)


@pytest.mark.parametrize(
    ("case", "check", "severity"),
    [
        ("small", "keys.size", Severity.high),
        ("plaintext", "keys.plaintext", Severity.high),
        ("old", "keys.rotation-overdue", Severity.medium),
        ("after-close", "keys.accepted-after-close", Severity.high),
        ("no-expiry", "keys.no-expiry", Severity.medium),
        ("unknown-format", "keys.unreadable", Severity.info),
        ("tagging", "keys.many", Severity.medium),
    ],
)
def test_key_problems_are_found(
    case: str,
    check: str,
    severity: Severity,
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    options: AuditOptions,
) -> None:
    cid = "sleutels"
    if case == "small":
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        _key_case(issuer_store, cid, public_key_record(small)[1])
    elif case == "plaintext":
        pem = signing_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        _key_case(issuer_store, cid, json.dumps({"private_key": pem.decode()}))
    elif case == "old":
        _key_case(issuer_store, cid, public_key_record(signing_key, not_before="2024-06-01")[1])
    elif case == "after-close":
        record = public_key_record(signing_key, not_after="2026-06-01")[1]
        _key_case(issuer_store, cid, record, closes_at="2026-01-10")
    elif case == "no-expiry":
        issuer_store.hset(
            issuer_keys_key(cid), "bb" * 32, public_key_record(signing_key, not_after=None)[1]
        )
    elif case == "tagging":  # a key per citizen would tag each token with its owner
        _key_case(issuer_store, cid, public_key_record(signing_key)[1])
        for seq in range(2, 6):
            issuer_store.hset(
                issuer_keys_key(cid), f"{seq:02x}" * 32, public_key_record(signing_key, seq=seq)[1]
            )
    else:
        _key_case(issuer_store, cid, b"\x01\x02binary")
    report = audit(issuer_store, sync_store, options)
    hits = [f for f in report.findings if f.check == check]
    assert [f.severity for f in hits] == [severity]
    assert hits[0].location.key == issuer_keys_key(cid)
    assert hits[0].location.source == "issuer store"


def test_a_good_key_gives_no_key_finding(
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    signing_key: rsa.RSAPrivateKey,
    options: AuditOptions,
) -> None:
    _key_case(issuer_store, "goed", public_key_record(signing_key)[1])
    assert audit(issuer_store, sync_store, options).findings == []


@pytest.mark.usefixtures("valkey_defaults")
def test_ledger_in_insertion_order_is_found(
    sync_store: redis.Redis, options: AuditOptions, pepper: bytes
) -> None:
    # With Valkey's default small-hash encoding (listpack) the order is visible.
    for _ in range(5):
        sync_store.hincrby(ledger_key("volgorde"), os.urandom(32).hex(), 1)
    report = run_audit(options=options, issuer=take_snapshot(sync_store, side="issuer"))
    assert [(f.check, f.severity) for f in report.findings] == [
        ("issuer.ledger-order", Severity.medium)
    ]


def test_shared_store_is_found_and_is_a_note_in_the_demo(
    deployment: Deployment, sync_store: redis.Redis, redis_url: str, options: AuditOptions
) -> None:
    report = audit_deployment(options=options, issuer_url=redis_url, participation_url=redis_url)
    assert [(f.check, f.severity) for f in report.findings] == [
        ("cross.shared-store", Severity.high)
    ]
    demo = AuditOptions(today=options.today, public_urls=options.public_urls, demo=True)
    noted = audit_deployment(options=demo, issuer_url=redis_url, participation_url=redis_url)
    assert [(f.check, f.severity) for f in noted.findings] == [
        ("cross.shared-store", Severity.info)
    ]


def _state(client: redis.Redis) -> dict[bytes, tuple[bytes | None, int]]:
    return {k: (client.dump(k), client.pttl(k)) for k in client.scan_iter()}


def test_audit_only_reads(
    deployment: Deployment,
    issuer_store: redis.Redis,
    sync_store: redis.Redis,
    issuer_url: str,
    redis_url: str,
    options: AuditOptions,
) -> None:
    sync_store.hset(_pkey(deployment), "hint", deployment.citizens[0].bsn)  # some findings too
    before = (_state(issuer_store), _state(sync_store))
    for client in (issuer_store, sync_store):
        client.config_resetstat()
    report = audit_deployment(options=options, issuer_url=issuer_url, participation_url=redis_url)
    assert report.findings  # it did look
    for client in (issuer_store, sync_store):
        sent = {
            name.removeprefix("cmdstat_").replace("|", " ").upper()
            for name in client.info("commandstats")
        }
        assert sent - {"CONFIG RESETSTAT", "INFO", "CLIENT SETINFO", "HELLO"} <= ALLOWED_COMMANDS
    after = (_state(issuer_store), _state(sync_store))
    assert {k: v[0] for k, v in before[0].items()} == {k: v[0] for k, v in after[0].items()}
    assert {k: v[0] for k, v in before[1].items()} == {k: v[0] for k, v in after[1].items()}


def test_read_only_store_refuses_writes(sync_store: redis.Redis) -> None:
    guard = ReadOnlyStore(sync_store)
    for command in (("SET", "k", "v"), ("DEL", "k"), ("CONFIG", "SET", "save", ""), ("FLUSHALL",)):
        with pytest.raises(WriteAttempted):
            guard.command(*command)
        with pytest.raises(WriteAttempted):  # nothing of a batch is sent if one is refused
            guard.batch([("GET", "k"), command])
    assert sync_store.dbsize() == 0
