"""Hypothesis fuzz of the CSV imports that read outside bytes: the Polis export loader
(``inspraak analyze``) and the issuer's panel CSV. Whatever the bytes, the answer is a
result or the documented error (ValueError / InvalidInput), never another exception.

(The token parsers and the SAML entry points have their own fuzz tests in tests/tokens
and tests/issuer/saml.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import load_polis_export
from issuer.errors import InvalidInput
from issuer.panel import panel_hashes

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

VOTES_HEADER = "timestamp,datetime,comment-id,voter-id,vote\n"
PARTICIPANTS_HEADER = "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,2\n"

cells = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "1.0", "nan", "inf", "-inf", "1e309", "x", '"', "\ufeff"]),
    st.text(max_size=6),
    st.integers(-(2**70), 2**70).map(str),
)
rows = st.lists(st.lists(cells, max_size=8).map(",".join), max_size=12).map("\n".join)


def _load(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        # ValueError (UnicodeDecodeError included) is the documented refusal.
        with contextlib.suppress(ValueError):
            load_polis_export(folder)


@BOUNDED
@given(body=rows)
def test_votes_csv_rows_never_crash(body: str) -> None:
    _load({"votes.csv": (VOTES_HEADER + body).encode()})


@BOUNDED
@given(body=rows)
def test_participants_votes_csv_rows_never_crash(body: str) -> None:
    _load({"participants-votes.csv": (PARTICIPANTS_HEADER + body).encode()})


@BOUNDED
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_votes_csv_never_crash(data: bytes) -> None:
    _load({"votes.csv": data})


@BOUNDED
@given(
    data=st.one_of(st.binary(max_size=300), rows.map(str.encode)),
    name=st.sampled_from(["votes.csv", "participants-votes.csv", "comments.csv", "summary.csv"]),
)
def test_arbitrary_bytes_beside_a_valid_file_never_crash(data: bytes, name: str) -> None:
    valid = (VOTES_HEADER + "0,x,1,1,1\n0,x,2,2,-1\n").encode()
    files = {"votes.csv": valid, name: data} if name != "votes.csv" else {name: data}
    _load(files)


PEPPER = os.urandom(32)


@BOUNDED
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.lists(
            st.one_of(
                st.sampled_from(["bsn", "999990019", "99999001", "12345678", "", " ", ";"]),
                st.text(alphabet="0123456789 \ufeff\t", max_size=12),
            ),
            max_size=10,
        ).map("\n".join),
    ),
    scheme=st.sampled_from(["digid", "eherkenning"]),
)
def test_panel_csv_answers_hashes_or_invalid_input(text: str, scheme: str) -> None:
    try:
        hashes = panel_hashes(text, scheme=scheme, pepper=PEPPER)  # type: ignore[arg-type]
    except InvalidInput:
        return
    assert hashes and all(len(h) == 64 for h in hashes)
