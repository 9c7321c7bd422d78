"""Polis-format CSV export: ``comments.csv``, ``votes.csv``, ``participants-votes.csv``,
``summary.csv`` (the compdemocracy openData layout; agree = 1).

Participant ids are replaced by 0..N-1 in an order shuffled afresh for every export, so
the numbers mean nothing outside that one export. The participation side keeps no clock
times finer than a day: ``votes.csv`` carries the vote's sequence number in ``timestamp``
(it orders the votes, the latest wins) and leaves ``datetime`` empty; ``comments.csv``
carries the statement's day.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from inspraak.store import Store
from participation.services import Consultation, Statement, StatementService, shuffled
from participation.store import queue_key, votes_stream_key
from tokens import Rng

__all__ = ["EXPORT_FILES", "ExportService", "PolisExport"]

EXPORT_FILES = ("comments", "votes", "participants-votes", "summary")
_STREAM_PAGE = 10_000


def _s(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class PolisExport:
    """The four CSV files of one export, as text."""

    files: dict[str, str]

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in self.files.items():
                # A fixed date inside the archive: no export time leaks into it.
                info = zipfile.ZipInfo(f"{name}.csv", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text)
        return buffer.getvalue()


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def _day_ms(day: str) -> str:
    if not day:
        return ""
    moment = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
    return str(int(moment.timestamp() * 1000))


class ExportService:
    """Reads the vote stream and the statements of one consultation into a Polis export."""

    def __init__(self, *, store: Store, statements: StatementService, rng: Rng) -> None:
        self._store = store
        self._statements = statements
        self._rng = rng

    async def _stream(self, cid: str) -> list[tuple[int, str, int, int]]:
        """Every vote as (seq, participant, statement, value), in stream order."""
        votes: list[tuple[int, str, int, int]] = []
        start = "-"
        while True:
            page: Any = await self._store.xrange(
                votes_stream_key(cid), start, "+", count=_STREAM_PAGE
            )
            for entry_id, fields in page:
                f = {_s(k): _s(v) for k, v in fields.items()}
                seq = int(_s(entry_id).split("-")[0])
                votes.append((seq, f["p"], int(f["s"]), int(f["v"])))
            if len(page) < _STREAM_PAGE:
                return votes
            start = "(" + _s(page[-1][0])

    async def export(self, consultation: Consultation) -> PolisExport:
        cid = consultation.id
        statements = await self._statements.all(cid)
        queued = {int(_s(x)) for x in await self._store.zrange(queue_key(cid), 0, -1)}
        votes = await self._stream(cid)

        latest: dict[tuple[str, int], int] = {}
        for _seq, pid, sid, value in votes:
            latest[(pid, sid)] = value
        authors = Counter(s.author for s in statements if s.author)
        pids = list(dict.fromkeys([pid for _, pid, _, _ in votes] + list(authors)))
        index = {pid: str(i) for i, pid in enumerate(shuffled(self._rng, pids))}

        files = {
            "comments": self._comments(statements, queued, latest, index),
            "votes": _csv(
                [["timestamp", "datetime", "comment-id", "voter-id", "vote"]]
                + [[seq, "", sid, index[pid], value] for seq, pid, sid, value in votes]
            ),
            "participants-votes": self._participants(statements, latest, authors, index),
            "summary": self._summary(consultation, statements, latest, authors),
        }
        return PolisExport(files=files)

    @staticmethod
    def _moderated(statement: Statement, queued: set[int]) -> int:
        if statement.status == "rejected":
            return -1
        if statement.status == "pending" or statement.id in queued:
            return 0
        return 1

    def _comments(
        self,
        statements: list[Statement],
        queued: set[int],
        latest: dict[tuple[str, int], int],
        index: dict[str, str],
    ) -> str:
        agrees: Counter[int] = Counter()
        disagrees: Counter[int] = Counter()
        for (_pid, sid), value in latest.items():
            if value == 1:
                agrees[sid] += 1
            elif value == -1:
                disagrees[sid] += 1
        rows: list[list[Any]] = [
            [
                "timestamp",
                "datetime",
                "comment-id",
                "author-id",
                "agrees",
                "disagrees",
                "moderated",
                "comment-body",
                "is-seed",
                "is-meta",
            ]
        ]
        for s in statements:
            rows.append(
                [
                    _day_ms(s.created_day),
                    s.created_day,
                    s.id,
                    index.get(s.author, "") if s.author else "",
                    agrees[s.id],
                    disagrees[s.id],
                    self._moderated(s, queued),
                    s.text,
                    "true" if s.origin == "seed" else "false",
                    "true" if s.is_meta else "false",
                ]
            )
        return _csv(rows)

    @staticmethod
    def _participants(
        statements: list[Statement],
        latest: dict[tuple[str, int], int],
        authors: Counter[str],
        index: dict[str, str],
    ) -> str:
        sids = [s.id for s in statements]
        by_participant: dict[str, dict[int, int]] = {pid: {} for pid in index}
        for (pid, sid), value in latest.items():
            by_participant[pid][sid] = value
        header: list[Any] = [
            "participant",
            "group-id",
            "n-comments",
            "n-votes",
            "n-agree",
            "n-disagree",
            *sids,
        ]
        rows: list[list[Any]] = [header]
        for pid, number in sorted(index.items(), key=lambda item: int(item[1])):
            own = by_participant[pid]
            values = list(own.values())
            rows.append(
                [
                    number,
                    "",  # groups are in the report, not linked to export rows
                    authors.get(pid, 0),
                    len(values),
                    values.count(1),
                    values.count(-1),
                    *[own.get(sid, "") for sid in sids],
                ]
            )
        return _csv(rows)

    @staticmethod
    def _summary(
        consultation: Consultation,
        statements: list[Statement],
        latest: dict[tuple[str, int], int],
        authors: Counter[str],
    ) -> str:
        voters = {pid for pid, _ in latest}
        rows: list[list[Any]] = [
            ["topic", consultation.title],
            ["url", consultation.id],
            ["views", ""],
            ["voters", len(voters)],
            ["voters-in-conv", len(voters)],
            ["commenters", len(authors)],
            ["comments", len(statements)],
            ["groups", ""],
            ["conversation-description", consultation.description],
        ]
        return _csv(rows)
