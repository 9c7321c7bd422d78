"""Analysis engine benchmarks, each next to red-dwarf 0.4.0 measured in the same run.

    python bench/bench_analysis.py real [--write-reference]
    python bench/bench_analysis.py synthetic [--participants N --statements S --votes V]
    python bench/bench_analysis.py incremental
    python bench/bench_analysis.py all

``real``: every Polis openData export (../shared/polis-opendata, CC BY 4.0, gathered with
the Polis software, attribution to The Computational Democracy Project): our ``run`` and
red-dwarf's ``run_pipeline`` on the same votes in this process, time and ARI against
Polis's groups (``analysis.polis_agreement``: "ARI" over the participants both grouped, the
issue's reading; "strict" with unclustered participants as one more label, which is what
the "ARI" columns of entries before 2026-11-25 04:54 UTC hold). ``--write-reference``
stores red-dwarf's per-dataset ARI, both readings, in tests/analysis/reddwarf_reference.json
for the real-data test.
``synthetic``: planted camps, run in a child process for its peak RSS; red-dwarf runs on a
10x smaller matrix in its own child (at full size it needs minutes and several GB).
``incremental``: 10,000 new votes folded into a 100k-participant matrix and re-run warm.
Figures are appended to bench/RESULTS.md under "## Analysis".
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from analysis import (  # noqa: E402
    AnalysisParams,
    VoteMatrix,
    VoteMatrixBuilder,
    build_vote_matrix,
    load_polis_export,
    polis_agreement,
    run,
)
from bench._common import record  # noqa: E402

HEADING = "## Analysis"
NOTE = "See the docstring of `bench/bench_analysis.py`."
OPENDATA = ROOT.parent / "shared" / "polis-opendata"
REFERENCE = ROOT / "tests" / "analysis" / "reddwarf_reference.json"


def reddwarf_votes(matrix: VoteMatrix) -> list[dict[str, int]]:
    csr = matrix.votes
    rows = np.repeat(np.arange(matrix.n_participants), np.diff(csr.indptr))
    return [
        {
            "participant_id": int(r),
            "statement_id": int(matrix.statement_ids[c]),
            "vote": int(v),
            "modified": i,
        }
        for i, (r, c, v) in enumerate(zip(rows, csr.indices, csr.data, strict=True))
    ]


def run_reddwarf(matrix: VoteMatrix, moderated: list[int], meta: list[int]) -> Any:
    from reddwarf.implementations.base import run_pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_pipeline(
            votes=reddwarf_votes(matrix),
            mod_out_statement_ids=moderated,
            meta_statement_ids=meta,
            random_state=0,
        )


def reddwarf_labels(result: Any, matrix: VoteMatrix) -> dict[str, int | None]:
    labels = result.participants_df["cluster_id"]
    out: dict[str, int | None] = {}
    for row, value in labels.items():
        out[str(matrix.participant_ids[int(row)])] = None if str(value) == "<NA>" else int(value)
    return out


def timed(function: Any, repeat: int = 1) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def bench_real(write_reference: bool) -> list[str]:
    """Both sides on every export: time, and the ARI in the issue's reading (participants
    both grouped) with the stricter one (unclustered as a label) in brackets."""
    lines = [
        "| dataset | ours s | red-dwarf s | speed-up | ARI ours | ARI red-dwarf "
        "| strict ours | strict red-dwarf |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    reference: dict[str, dict[str, float]] = {"ari": {}, "ari_counting_unclustered": {}}
    ours_all, theirs_all, speedups = [], [], []
    for folder in sorted(p for p in OPENDATA.iterdir() if p.is_dir()):
        export = load_polis_export(folder)
        moderated, meta = sorted(export.moderated_ids), sorted(export.meta_ids)
        # Rebuild the matrix from the vote list so both sides start from the same votes.
        ours_s, result = timed(
            lambda e=export: run(e.votes, moderated_ids=e.moderated_ids, meta_ids=e.meta_ids),
            repeat=3,
        )
        # Best of three on both sides: one load spike on a shared machine moves neither.
        rd_s, rd = timed(
            lambda e=export, m=moderated, t=meta: run_reddwarf(e.votes, m, t), repeat=3
        )
        ours = polis_agreement(export.polis_groups, result.participant_groups())
        theirs = polis_agreement(export.polis_groups, reddwarf_labels(rd, export.votes))
        reference["ari"][folder.name] = round(theirs.ari, 6)
        reference["ari_counting_unclustered"][folder.name] = round(
            theirs.ari_counting_unclustered, 6
        )
        ours_all.append((ours.ari, ours.ari_counting_unclustered))
        theirs_all.append((theirs.ari, theirs.ari_counting_unclustered))
        speedups.append(rd_s / ours_s)
        line = (
            f"| {folder.name} | {ours_s:.3f} | {rd_s:.3f} | {rd_s / ours_s:.1f}x "
            f"| {ours.ari:.3f} | {theirs.ari:.3f} "
            f"| {ours.ari_counting_unclustered:.3f} | {theirs.ari_counting_unclustered:.3f} |"
        )
        print(line, flush=True)
        lines.append(line)
    ours_median, ours_strict = np.median(ours_all, axis=0)
    theirs_median, theirs_strict = np.median(theirs_all, axis=0)
    summary = (
        f"median ARI ours {ours_median:.3f} vs red-dwarf {theirs_median:.3f} "
        f"(strict: {ours_strict:.3f} vs {theirs_strict:.3f}); "
        f"speed-up min {min(speedups):.1f}x, median {np.median(speedups):.1f}x (target >= 10x)"
    )
    print(summary)
    lines.append("")
    lines.append(summary)
    if write_reference:
        REFERENCE.write_text(
            json.dumps(
                {
                    "produced_by": "python bench/bench_analysis.py real --write-reference",
                    "what": "adjusted Rand index of red-dwarf 0.4.0 run_pipeline(random_state=0, "
                    "mod_out_statement_ids=moderated -1, meta_statement_ids=is-meta) against "
                    "Polis's group-id in participants-votes.csv (analysis.polis_agreement): "
                    "'ari' over the participants both grouped (the issue's reading), "
                    "'ari_counting_unclustered' over every participant Polis grouped, "
                    "those red-dwarf did not cluster sharing one extra label",
                    "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                    **reference,
                },
                indent=2,
                sort_keys=True,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {REFERENCE}")
    return lines


def distinct_cells(rng: np.random.Generator, cells: int, votes: int) -> np.ndarray:
    """``votes`` distinct cells out of ``cells``, in random order (one vote per cell).

    Sparse shares draw with replacement and top up what duplicates took away (the arrays
    stay the size of the votes); when the votes fill a quarter of the matrix or more, a
    sample without replacement costs about as much and needs no retries.

    Raises:
        ValueError: more votes than cells.
    """
    if votes > cells:
        raise ValueError(f"{votes:,} votes do not fit in {cells:,} participant x statement cells")
    if votes * 4 > cells:
        return rng.choice(cells, size=votes, replace=False)
    keys = np.unique(rng.integers(0, cells, size=int(votes * 1.02)))
    while len(keys) < votes:
        keys = np.union1d(keys, rng.integers(0, cells, size=2 * (votes - len(keys))))
    return rng.permutation(keys)[:votes]


def synthetic(
    participants: int, statements: int, votes: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three planted camps; each vote follows the camp's stance with 20% noise, 10% passes."""
    rng = np.random.default_rng(seed)
    keys = distinct_cells(rng, participants * statements, votes)
    who, what = keys // statements, keys % statements
    camp = rng.integers(0, 3, size=participants)
    stance = rng.choice(np.array([-1, 1], dtype=np.int8), size=(3, statements))
    value = stance[camp[who], what]
    flip = rng.random(votes) < 0.2
    value = np.where(flip, -value, value).astype(np.int8)
    value[rng.random(votes) < 0.1] = 0
    return who, what, value


def _child_generate(args: tuple[int, int, int], path: str, queue: Any) -> None:
    who, what, value = synthetic(*args)
    np.savez(path, who=who.astype(np.int32), what=what.astype(np.int32), value=value)
    queue.put(len(who))


def _load(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.load(path)
    return data["who"], data["what"], data["value"]


def _child_ours(path: str, queue: Any) -> None:
    threadpool_limits(limits=1)  # one core: the machine is shared, OpenMP spins badly
    who, what, value = _load(path)
    start = time.perf_counter()
    matrix = build_vote_matrix(who, what, value)
    result = run(matrix, AnalysisParams())
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    queue.put((seconds, rss, result.n_groups, len(result.clustered)))


def _child_reddwarf(path: str, queue: Any) -> None:
    threadpool_limits(limits=1)
    who, what, value = _load(path)
    matrix = build_vote_matrix(who, what, value)
    start = time.perf_counter()
    run_reddwarf(matrix, [], [])
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    queue.put((seconds, rss, None, None))


def in_child(target: Any, *args: Any) -> Any:
    """Run ``target(*args, queue)`` in a fresh process (its own peak RSS); return its answer."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    while True:
        alive = process.is_alive()  # checked before the wait: an answer may still be in flight
        try:
            value = queue.get(timeout=1.0)
        except Empty:
            if alive:
                continue
            # It died before answering: say so rather than wait for ever.
            raise RuntimeError(f"{target.__name__} failed (exit {process.exitcode})") from None
        process.join()
        return value


def dataset_file(participants: int, statements: int, votes: int) -> str:
    path = Path(tempfile.gettempdir()) / f"inspraak-bench-{participants}-{statements}-{votes}.npz"
    if not path.exists():
        in_child(_child_generate, (participants, statements, votes), str(path))
    return str(path)


def bench_synthetic(participants: int, statements: int, votes: int, reddwarf: bool) -> list[str]:
    path = dataset_file(participants, statements, votes)
    seconds, rss, k, clustered = in_child(_child_ours, path)
    line = (
        f"ours {participants:,} x {statements:,}, {votes:,} votes: {seconds:.2f} s end to end "
        f"(matrix build included), peak RSS {rss:.2f} GB (input arrays included), {k} groups, "
        f"{clustered:,} clustered"
    )
    print(line, flush=True)
    lines = [line]
    if reddwarf:
        small = (participants // 10, statements, votes // 10)
        small_path = dataset_file(*small)
        rd_s, rd_rss, _, _ = in_child(_child_reddwarf, small_path)
        ours_s, ours_rss, _, _ = in_child(_child_ours, small_path)
        line = (
            f"same run, {small[0]:,} x {small[1]:,}, {small[2]:,} votes: red-dwarf "
            f"{rd_s:.2f} s / {rd_rss:.2f} GB peak vs ours {ours_s:.2f} s / {ours_rss:.2f} GB "
            f"({rd_s / ours_s:.0f}x)"
        )
        print(line, flush=True)
        lines.append(line)
    return lines


def bench_incremental(participants: int = 100_000, statements: int = 1000) -> list[str]:
    who, what, value = synthetic(participants, statements, 3_000_000)
    builder = VoteMatrixBuilder()
    builder.add([str(p) for p in who], what.tolist(), value.tolist())
    first = run(builder.matrix())
    rng = np.random.default_rng(1)
    new_who = rng.integers(0, participants + 2000, size=10_000)
    new_what = rng.integers(0, statements, size=10_000)
    new_value = rng.integers(-1, 2, size=10_000)
    start = time.perf_counter()
    builder.add([str(p) for p in new_who], new_what.tolist(), new_value.tolist())
    matrix = builder.matrix()
    again = run(matrix, previous=first)
    seconds = time.perf_counter() - start
    full_s, _ = timed(lambda: run(matrix))
    stable = float(np.mean(first.labels == again.labels[: len(first.labels)]))
    line = (
        f"incremental: 10,000 new votes into {participants:,} participants / 3M votes: "
        f"{seconds:.2f} s (merge + warm re-run; target < 1 s) vs cold full run {full_s:.2f} s "
        f"in the same run; {stable:.1%} of labels unchanged"
    )
    print(line, flush=True)
    return [line]


def record_block(title: str, lines: list[str]) -> None:
    """Append a dated block at the end of our own section of bench/RESULTS.md."""
    load = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"\n### {stamp}: {title} (load average {load:.1f} on {os.cpu_count()} cores)\n\n"
    record(HEADING, block + "\n".join(lines), note=NOTE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["real", "synthetic", "incremental", "all"])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--statements", type=int, default=1000)
    parser.add_argument("--votes", type=int, default=3_000_000)
    parser.add_argument("--no-reddwarf", action="store_true")
    parser.add_argument("--write-reference", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if args.votes > args.participants * args.statements:
        parser.error("--votes is more than --participants x --statements (one vote per cell)")
    threadpool_limits(limits=1)
    sections: list[tuple[str, list[str]]] = []
    if args.what in ("real", "all"):
        sections.append(
            ("real datasets vs red-dwarf run_pipeline", bench_real(args.write_reference))
        )
    if args.what in ("synthetic", "all"):
        sections.append(
            (
                "synthetic",
                bench_synthetic(
                    args.participants, args.statements, args.votes, not args.no_reddwarf
                ),
            )
        )
    if args.what in ("incremental", "all"):
        sections.append(("incremental update", bench_incremental()))
    if not args.no_record:
        for title, lines in sections:
            record_block(title, lines)


if __name__ == "__main__":
    main()
