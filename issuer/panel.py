"""Invited panels: a CSV of BSNs or KvK numbers becomes a set of keyed hashes.

The uploaded file is read in memory and never kept; each identifier is checked (11-proef
for BSNs) and turned into the same ``subject_key`` a login produces, so issuance checks
membership with one ``SISMEMBER``. Error messages give line numbers, never values.
"""

from __future__ import annotations

import csv
import io

from issuer.errors import InvalidInput
from issuer.identifiers import is_valid_bsn, is_valid_kvk, subject_key
from issuer.levels import Scheme

__all__ = ["MAX_PANEL_SIZE", "panel_hashes"]

MAX_PANEL_SIZE = 2_000_000


def panel_hashes(text: str, *, scheme: Scheme, pepper: bytes) -> set[str]:
    """Keyed hashes of the identifiers in the CSV's first column (an optional header row)."""
    valid = is_valid_bsn if scheme == "digid" else is_valid_kvk
    hashes: set[str] = set()
    bad_lines: list[int] = []
    # newline="": the csv module handles \r, \r\n and \n itself (a bare \r from an old
    # spreadsheet otherwise raises csv.Error, which would be a 500).
    for line_no, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        cell = row[0].strip().lstrip("\ufeff") if row else ""
        if not cell or (line_no == 1 and not cell.isdigit()):
            continue  # blank line, or a header such as "bsn"
        if scheme == "digid" and cell.isdigit() and len(cell) == 8:
            cell = "0" + cell  # spreadsheets drop the leading zero of a BSN
        if not valid(cell):
            bad_lines.append(line_no)
            continue
        hashes.add(subject_key(pepper, scheme, cell))
    if bad_lines:
        shown = ", ".join(str(n) for n in bad_lines[:20])
        raise InvalidInput(f"invalid identifiers on lines {shown}")
    if not hashes:
        raise InvalidInput("the file holds no identifiers")
    if len(hashes) > MAX_PANEL_SIZE:
        raise InvalidInput("the panel is too large")
    return hashes
