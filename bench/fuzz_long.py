"""Longer fuzz runs of every parser that sees outside bytes (CI runs bounded versions).

The test suite fuzzes each parser with a few hundred examples per property so that CI
stays fast (tests/tokens/, tests/production/test_fuzz_csv.py, tests/issuer/saml/). This
script runs the same kind of properties with many more examples: arbitrary input may
only raise the parser's documented error, never anything else and never hang. It records
examples per second and the outcome in bench/RESULTS.md.

    python bench/fuzz_long.py --examples 20000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

import tokens
from analysis.polis_io import load_polis_export
from bench._common import record
from issuer.errors import InvalidInput
from issuer.panel import panel_hashes

HEADING = "## Long fuzz runs (bench/fuzz_long.py)"
NOTE = (
    "Each target gets N generated inputs; the only exceptions allowed are the parser's own "
    "documented errors. CI runs bounded versions of the same properties."
)
TABLE_HEADER = "| date | target | examples | examples/s | outcome |\n|---|---|---|---|---|"
VOTES_HEADER = "timestamp,datetime,comment-id,voter-id,vote\n"


def token_bytes(data: bytes) -> None:
    for parse in (
        tokens.Token.from_bytes,
        tokens.TokenRequest.from_bytes,
        tokens.TokenResponse.from_bytes,
        tokens.TokenChallenge.from_bytes,
        tokens.decode_public_key,
        tokens.IssuerDirectory.from_json,
    ):
        with contextlib.suppress(tokens.DecodeError):
            parse(data)


def headers(text: str) -> None:
    for value in (text, f"PrivateToken token={text}", f'PrivateToken challenge="{text}"'):
        with contextlib.suppress(tokens.DecodeError):
            tokens.parse_authorization(value)
        with contextlib.suppress(tokens.DecodeError):
            tokens.parse_www_authenticate(value)


def panel_csv(text: str) -> None:
    with contextlib.suppress(InvalidInput):
        panel_hashes(text, scheme="digid", pepper=b"p" * 32)


def polis_votes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "votes.csv").write_bytes(VOTES_HEADER.encode() + data)
        with contextlib.suppress(ValueError):
            load_polis_export(Path(folder))


TARGETS: dict[str, tuple[Callable[..., None], st.SearchStrategy[object]]] = {
    "tokens wire + directory (bytes)": (token_bytes, st.binary(max_size=400)),
    "RFC 9577 headers (text)": (headers, st.text(max_size=300)),
    "issuer panel CSV (text)": (panel_csv, st.text(max_size=400)),
    "Polis votes.csv (bytes)": (polis_votes, st.binary(max_size=400)),
}


def run(examples: int) -> list[tuple[str, int, float, str]]:
    results = []
    for name, (target, strategy) in TARGETS.items():
        property_ = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(strategy)(target))
        started = time.perf_counter()
        try:
            property_()
            outcome = "no crash"
        except Exception as exc:  # a real finding: report it, keep going
            outcome = f"CRASH {type(exc).__name__}"
        seconds = time.perf_counter() - started
        results.append((name, examples, seconds, outcome))
        print(f"{name:34} {examples:7} examples {examples / seconds:8.0f}/s  {outcome}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    results = run(args.examples)
    if not args.no_record:
        rows = "\n".join(
            f"| {date.today().isoformat()} | {name} | {n} | {n / s:.0f} | {outcome} |"
            for name, n, s, outcome in results
        )
        record(
            HEADING,
            rows,
            note=NOTE,
            table_header=(
                "| date | target | examples | examples/s | outcome |\n|---|---|---|---|---|"
            ),
        )
    if any(outcome.startswith("CRASH") for *_, outcome in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
