"""The linkage game: the strongest insider tries to pair citizens with their votes.

The insider reads both stores in full (issuer ledger and keys, participants, the vote
stream) and plays every pairing strategy it has: the order of issuance against the order
of first votes, activity counts, and any value shared between a subject's records and a
participant's records. With a ground truth (in tests) each strategy gets a success rate,
to be compared with chance (1/N) through a binomial bound; without one (a live
deployment) only the links backed by a shared value are reported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from inspraak.audit.crossside import atoms, part_atoms, public_atoms, windows
from inspraak.audit.snapshot import StoreSnapshot

__all__ = [
    "STRATEGIES",
    "LinkageResult",
    "LinkageWorld",
    "Participant",
    "Subject",
    "chance_bound",
    "play",
    "render_linkage",
    "world_from_snapshots",
]


@dataclass(frozen=True, slots=True)
class Subject:
    """One issuer-side ledger entry, in the order the store returns it."""

    subject_key: str
    tokens: int
    fingerprints: frozenset[bytes]
    """Texts and 8-byte windows of every issuer record that names this subject."""


@dataclass(frozen=True, slots=True)
class Participant:
    """One participant, in order of first vote (non-voters last)."""

    pid: str
    votes: int
    fingerprints: frozenset[bytes]


@dataclass(frozen=True, slots=True)
class LinkageWorld:
    """What the insider sees of one consultation on both sides."""

    cid: str
    subjects: tuple[Subject, ...]
    participants: tuple[Participant, ...]


Pairing = dict[str, str]
"""subject_key -> pid, the insider's guess."""


@dataclass(frozen=True, slots=True)
class LinkageResult:
    strategy: str
    pairs: int
    evidence: int
    """Pairs backed by a shared value (only the shared-value strategy has any)."""
    correct: int | None
    n: int
    bound: int
    """Correct guesses at or above this are beyond chance (see :func:`chance_bound`)."""

    @property
    def success(self) -> float | None:
        return None if self.correct is None or self.n == 0 else self.correct / self.n

    @property
    def beyond_chance(self) -> bool:
        if self.correct is None:
            return self.evidence > 0
        return self.correct >= self.bound


def chance_bound(n: int, *, strategies: int, alpha: float = 1e-6) -> int:
    """Smallest ``t`` with P(X ≥ t) ≤ alpha / strategies for X ~ Binomial(n, 1/n).

    A guess at chance level gets on average one citizen right (1/N of N); the number of
    right guesses of any pairing chosen without information is (close to) this binomial.
    Bonferroni over the strategies keeps the family-wise false alarm below ``alpha``.
    """
    if n <= 1:
        return n + 1
    p = 1 / n
    level = alpha / strategies
    tail = 1.0
    for t in range(n + 1):
        if tail <= level:
            return t
        tail -= math.comb(n, t) * p**t * (1 - p) ** (n - t)
    return n + 1


def _fingerprints(
    snapshot: StoreSnapshot, needle: str, allowed: tuple[set[str], set[bytes]]
) -> frozenset[bytes]:
    """Texts and windows of every record naming ``needle``: whole keys named after it, or
    just the parts holding it (and, in a hash, the value beside such a field)."""
    texts, public = allowed
    mark = needle.encode()
    found: set[bytes] = set()
    for entry in snapshot.entries:
        if needle in entry.key:
            chosen = list(atoms(entry))
        else:
            fields = {p.name for p in entry.parts if p.kind == "field" and mark in p.data}
            beside = entry.type == "hash"
            parts = [
                p
                for p in entry.parts
                if mark in p.data or (beside and p.kind == "value" and p.name in fields)
            ]
            chosen = [a for p in parts for a in part_atoms(entry, p)]
        for atom in chosen:
            if atom.text in texts:
                continue
            if atom.raw is None:
                found.add(atom.text.encode())
            for run in atom.runs:
                found.update(w for w in windows(run) if w not in public)
    return frozenset(found)


def world_from_snapshots(
    issuer: StoreSnapshot, participation: StoreSnapshot, cid: str
) -> LinkageWorld:
    """Build the insider's view of consultation ``cid`` from the two snapshots."""
    allowed = public_atoms(issuer, participation)
    ledger = issuer.get(f"iss:{{c:{cid}}}:ledger")
    subjects: list[Subject] = []
    if ledger is not None:
        for part in ledger.parts:
            if part.kind == "value":
                text = part.text or ""
                count = int(text) if text.isdigit() else 1
                own = _fingerprints(issuer, part.name, allowed) | {part.name.encode()}
                subjects.append(Subject(part.name, count, own))
    order: dict[str, int] = {}
    votes: dict[str, int] = {}
    stream = participation.get(f"{{c:{cid}}}:votes")
    for part in stream.values() if stream is not None else ():
        if part.name == "p" and part.text:
            order.setdefault(part.text, len(order))
            votes[part.text] = votes.get(part.text, 0) + 1
    pattern = re.compile(r"\{c:" + re.escape(cid) + r"\}:(?:participant|pvotes):(.+)")
    for entry in participation.entries:
        if (match := pattern.fullmatch(entry.key)) is not None:
            order.setdefault(match.group(1), len(order))
    participants = [
        Participant(
            pid,
            votes.get(pid, 0),
            _fingerprints(participation, pid, allowed) | {pid.encode()},
        )
        for pid in sorted(order, key=order.__getitem__)
    ]
    return LinkageWorld(cid, tuple(subjects), tuple(participants))


def _by_order(world: LinkageWorld, rng: np.random.Generator) -> tuple[Pairing, int]:
    return {s.subject_key: p.pid for s, p in zip(world.subjects, world.participants)}, 0  # noqa: B905


def _by_counts(world: LinkageWorld, rng: np.random.Generator) -> tuple[Pairing, int]:
    """Rank by tokens issued and by activity; ties broken at random, so that this
    strategy measures what the counts reveal and not what the order does."""
    subjects = [world.subjects[i] for i in rng.permutation(len(world.subjects))]
    participants = [world.participants[i] for i in rng.permutation(len(world.participants))]
    subjects.sort(key=lambda s: -s.tokens)
    participants.sort(key=lambda p: -p.votes)
    return {s.subject_key: p.pid for s, p in zip(subjects, participants)}, 0  # noqa: B905


def _by_shared_value(world: LinkageWorld, rng: np.random.Generator) -> tuple[Pairing, int]:
    pairing: Pairing = {}
    taken: set[str] = set()
    for subject in world.subjects:
        for participant in world.participants:
            if participant.pid not in taken and subject.fingerprints & participant.fingerprints:
                pairing[subject.subject_key] = participant.pid
                taken.add(participant.pid)
                break
    evidence = len(pairing)
    rest = [p.pid for p in world.participants if p.pid not in taken]
    rng.shuffle(rest)
    for subject in world.subjects:
        if subject.subject_key not in pairing and rest:
            pairing[subject.subject_key] = rest.pop()
    return pairing, evidence


def _at_random(world: LinkageWorld, rng: np.random.Generator) -> tuple[Pairing, int]:
    pids = [p.pid for p in world.participants]
    rng.shuffle(pids)
    return {s.subject_key: pid for s, pid in zip(world.subjects, pids)}, 0  # noqa: B905


STRATEGIES: dict[str, Callable[[LinkageWorld, np.random.Generator], tuple[Pairing, int]]] = {
    "order": _by_order,
    "counts": _by_counts,
    "shared-value": _by_shared_value,
    "random": _at_random,
}
"""Every pairing strategy of the insider; ``random`` is the chance baseline."""


def play(
    world: LinkageWorld,
    *,
    truth: Mapping[str, str] | None = None,
    rng: np.random.Generator | None = None,
    alpha: float = 1e-6,
) -> list[LinkageResult]:
    """Play every strategy; score against ``truth`` (subject_key -> pid) when known."""
    generator = rng if rng is not None else np.random.default_rng(0)
    n = len(truth) if truth is not None else len(world.subjects)
    bound = chance_bound(n, strategies=len(STRATEGIES), alpha=alpha)
    results: list[LinkageResult] = []
    for name, strategy in STRATEGIES.items():
        pairing, evidence = strategy(world, generator)
        correct = None
        if truth is not None:
            correct = sum(1 for s, pid in pairing.items() if truth.get(s) == pid)
        results.append(LinkageResult(name, len(pairing), evidence, correct, n, bound))
    return results


def render_linkage(cid: str, results: list[LinkageResult]) -> str:
    """Plain-text table of one game."""
    lines = [f"Linkage game, consultation {cid}:"]
    for r in results:
        score = (
            f"{r.correct}/{r.n} right (chance bound {r.bound})"
            if r.correct is not None
            else f"{r.evidence} pairs backed by a shared value"
        )
        verdict = "BEYOND CHANCE" if r.beyond_chance else "at chance"
        lines.append(f"  {r.strategy:<13} {r.pairs:>6} pairs, {score}: {verdict}")
    return "\n".join(lines)
