"""Read Polis exports (the openData layout) and plain vote CSVs into vote arrays.

A Polis export folder holds ``votes.csv`` (``timestamp,datetime,comment-id,voter-id,vote``,
agree = 1), ``comments.csv`` (``moderated`` -1/0/1, optional ``is-meta``) and
``participants-votes.csv`` (one row per participant with Polis's ``group-id`` and a column
per comment). When ``votes.csv`` is absent the final votes are read from the latter.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from analysis.matrix import VoteMatrix, build_vote_matrix

__all__ = ["PolisExport", "load_polis_export", "load_votes_csv"]

_PARTICIPANT_COLUMNS = ("participant", "voter-id", "pid", "participant_id", "participant-id")
_STATEMENT_COLUMNS = ("comment-id", "tid", "statement_id", "statement-id", "statement")
_VOTE_COLUMNS = ("vote", "value")
_TIME_COLUMNS = ("timestamp", "modified", "created")


@dataclass(frozen=True, eq=False)
class PolisExport:
    """Votes plus statement metadata; ``polis_groups`` maps participant id to Polis's group."""

    votes: VoteMatrix
    moderated_ids: frozenset[int] = frozenset()
    meta_ids: frozenset[int] = frozenset()
    statement_texts: dict[int, str] = field(default_factory=dict)
    polis_groups: dict[str, int | None] = field(default_factory=dict)
    polis_consensus: dict[int, float] = field(default_factory=dict)
    topic: str = ""


def _pick(header: list[str], names: tuple[str, ...], what: str, path: Path) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise ValueError(f"{path}: no {what} column (looked for {', '.join(names)})")


def load_votes_csv(path: Path) -> VoteMatrix:
    """A CSV with participant, statement and vote columns (and optionally a timestamp).

    Rows are taken in timestamp order when there is one, else in file order; the latest
    vote on a statement wins.

    Raises:
        ValueError: a missing column or a vote that is not -1, 0 or 1.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file")
        p = _pick(header, _PARTICIPANT_COLUMNS, "participant", path)
        s = _pick(header, _STATEMENT_COLUMNS, "statement", path)
        v = _pick(header, _VOTE_COLUMNS, "vote", path)
        lowered = [h.strip().lower() for h in header]
        t = next((lowered.index(n) for n in _TIME_COLUMNS if n in lowered), None)
        rows = [row for row in reader if row]
    width = max(p, s, v, -1 if t is None else t)
    if any(len(row) <= width for row in rows):
        raise ValueError(f"{path}: a row has fewer columns than the header")
    participants = np.array([row[p] for row in rows], dtype=object)
    try:
        statements = np.array([int(row[s]) for row in rows], dtype=np.int64)
        votes = np.array([int(float(row[v])) for row in rows], dtype=np.int64)
        if t is not None:
            order = np.argsort(np.array([float(row[t]) for row in rows]), kind="stable")
            participants, statements, votes = participants[order], statements[order], votes[order]
    except (ValueError, OverflowError) as error:  # OverflowError: int(float("inf"))
        raise ValueError(f"{path}: {error}") from error
    return build_vote_matrix(participants, statements, votes)


def _read_dicts(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _from_participant_rows(path: Path) -> tuple[VoteMatrix, dict[str, int | None]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}: empty file")
        first_comment = header.index("n-disagree") + 1
        group_col = header.index("group-id")
        comment_ids = np.array([int(h) for h in header[first_comment:]], dtype=np.int64)
        participants: list[str] = []
        statements: list[NDArray[np.int64]] = []
        values: list[NDArray[np.int64]] = []
        groups: dict[str, int | None] = {}
        for row in reader:
            if not row:
                continue
            if len(row) <= group_col or len(row) > len(header):
                raise ValueError(f"{path}: a row does not match the header")
            pid = row[0]
            groups[pid] = int(row[group_col]) if row[group_col].strip() else None
            cells = row[first_comment:]
            voted = [i for i, cell in enumerate(cells) if cell.strip()]
            participants.extend([pid] * len(voted))
            statements.append(comment_ids[voted])
            try:
                values.append(np.array([int(float(cells[i])) for i in voted], dtype=np.int64))
            except OverflowError as error:
                raise ValueError(f"{path}: {error}") from error
    matrix = build_vote_matrix(
        np.array(participants, dtype=object),
        np.concatenate(statements) if statements else np.zeros(0, np.int64),
        np.concatenate(values) if values else np.zeros(0, np.int64),
    )
    return matrix, groups


def load_polis_export(path: Path) -> PolisExport:
    """A Polis export folder, or a single votes CSV.

    Raises:
        ValueError: the folder has neither ``votes.csv`` nor ``participants-votes.csv``.
        FileNotFoundError: the path does not exist.
    """
    if not path.exists():
        raise FileNotFoundError(path)
    if path.is_file():
        return PolisExport(votes=load_votes_csv(path))
    try:
        return _load_folder(path)
    except (KeyError, AttributeError, TypeError, IndexError, OverflowError) as error:
        # A file of the folder does not have the columns or values the export format has.
        raise ValueError(f"{path}: malformed export ({type(error).__name__}: {error})") from error


def _load_folder(path: Path) -> PolisExport:
    groups: dict[str, int | None] = {}
    participants_votes = path / "participants-votes.csv"
    if (path / "votes.csv").exists():
        votes = load_votes_csv(path / "votes.csv")
        if participants_votes.exists():
            for row in _read_dicts(participants_votes):
                gid = row.get("group-id", "").strip()
                groups[row["participant"]] = int(gid) if gid else None
    elif participants_votes.exists():
        votes, groups = _from_participant_rows(participants_votes)
    else:
        raise ValueError(f"{path}: no votes.csv or participants-votes.csv")
    moderated: set[int] = set()
    meta: set[int] = set()
    texts: dict[int, str] = {}
    consensus: dict[int, float] = {}
    if (path / "comments.csv").exists():
        for row in _read_dicts(path / "comments.csv"):
            sid = int(row["comment-id"])
            texts[sid] = row.get("comment-body", "")
            if row.get("moderated", "0").strip() == "-1":
                moderated.add(sid)
            if row.get("is-meta", "").strip().lower() in {"true", "1"}:
                meta.add(sid)
            if row.get("group-informed-consensus", "").strip():
                consensus[sid] = float(row["group-informed-consensus"])
    topic = ""
    if (path / "summary.csv").exists():
        with (path / "summary.csv").open(newline="", encoding="utf-8") as handle:
            for line in csv.reader(handle):
                if len(line) >= 2 and line[0] == "topic":
                    topic = line[1]
    return PolisExport(
        votes=votes,
        moderated_ids=frozenset(moderated),
        meta_ids=frozenset(meta),
        statement_texts=texts,
        polis_groups=groups,
        polis_consensus=consensus,
        topic=topic,
    )
