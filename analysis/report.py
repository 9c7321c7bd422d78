"""The report: what the public sees of one analysis run, as JSON-ready data.

Small-group protection: a group with fewer than ``min_group_size`` members is never shown
on its own. Its members appear as ``null`` in ``participants`` (like the unclustered), its
size and statements are withheld, and the report only says how many participants sit in
such suppressed groups (when that count itself reaches ``min_group_size``, else it says
nothing). Vote counts of any breakdown with fewer than ``min_group_size`` votes are null.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from analysis.pipeline import AnalysisResult
from analysis.stats import ConsensusStatement, RepresentativeStatement

__all__ = ["REPORT_VERSION", "build_report", "dump_report", "report_to_json"]

REPORT_VERSION = 1


def _num(value: float, digits: int = 4) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def _count(value: int, k: int) -> int | None:
    return int(value) if value >= k else None


def _rep(entry: RepresentativeStatement, k: int, texts: dict[int, str]) -> dict[str, Any]:
    return {
        "statement_id": entry.statement_id,
        "text": texts.get(entry.statement_id),
        "repful_for": entry.repful_for,
        "n_success": _count(entry.n_success, k) if entry.n_trials >= k else None,
        "n_trials": _count(entry.n_trials, k),
        "p_success": _num(entry.p_success),
        "p_test": _num(entry.p_test),
        "repness": _num(entry.repness),
        "repness_test": _num(entry.repness_test),
        "best_agree": entry.best_agree,
    }


def _cons(entry: ConsensusStatement, k: int, texts: dict[int, str]) -> dict[str, Any]:
    return {
        "statement_id": entry.statement_id,
        "text": texts.get(entry.statement_id),
        "n_success": _count(entry.n_success, k) if entry.n_trials >= k else None,
        "n_trials": _count(entry.n_trials, k),
        "p_success": _num(entry.p_success),
        "p_test": _num(entry.p_test),
    }


def build_report(
    result: AnalysisResult,
    *,
    min_group_size: int = 5,
    statement_texts: dict[int, str] | None = None,
    include_participants: bool = True,
) -> dict[str, Any]:
    """The report as plain data (see the module docstring for what is withheld)."""
    texts = statement_texts or {}
    k = min_group_size
    sizes = result.group_sizes()
    shown = [g for g in range(result.n_groups) if sizes[g] >= k]
    public_id = {g: i for i, g in enumerate(shown)}
    suppressed = int(sum(sizes[g] for g in range(result.n_groups) if g not in public_id))
    groups = []
    for g in shown:
        members = result.clustered[result.clustering.labels == g]
        groups.append(
            {
                "id": public_id[g],
                "size": int(sizes[g]),
                "center": [_num(x) for x in result.clustering.group_centers[g]],
                "representative": [_rep(r, k, texts) for r in result.representative[g]],
                "mean_projection": [
                    _num(x) for x in result.pca.projections[members, :2].mean(axis=0)
                ],
            }
        )
    gic = {
        int(s): _num(v)
        for s, v in zip(result.votes.statement_ids, result.group_informed_consensus, strict=True)
        if int(s) not in result.moderated_ids and int(s) not in result.meta_ids and shown
    }
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "seed": result.params.seed,
        "min_group_size": k,
        "n_participants": result.votes.n_participants,
        "n_statements": result.votes.n_statements,
        "n_votes": result.votes.n_votes,
        "n_clustered": len(result.clustered),
        "n_in_suppressed_groups": suppressed if suppressed >= k else None,
        "explained_variance": [_num(v, 6) for v in result.pca.explained_variance],
        "groups": groups,
        "consensus": {
            "agree": [_cons(c, k, texts) for c in result.consensus.agree],
            "disagree": [_cons(c, k, texts) for c in result.consensus.disagree],
        },
        "group_informed_consensus": {str(s): v for s, v in gic.items()},
        "priorities": {str(s): _num(v, 6) for s, v in result.priorities.items()},
    }
    if include_participants:
        # One row per participant: plain Python lists, not numpy scalars, in the loops.
        pids = [str(pid) for pid in result.votes.participant_ids.tolist()]
        report["participants"] = dict(
            zip(
                pids,
                [public_id.get(g) if g >= 0 else None for g in result.labels.tolist()],
                strict=True,
            )
        )
        xy = result.pca.projections[:, :2]
        finite: list[bool] = np.all(np.isfinite(xy), axis=1).tolist()
        report["projections"] = {
            pid: [round(x, 4) for x in row]
            for pid, row, ok in zip(pids, xy.tolist(), finite, strict=True)
            if ok
        }
    return report


def dump_report(report: dict[str, Any]) -> str:
    """A built report as JSON (``allow_nan=False``: a NaN is a bug, not output)."""
    return json.dumps(report, ensure_ascii=False, allow_nan=False)


def report_to_json(result: AnalysisResult, **options: Any) -> str:
    """:func:`build_report` serialised by :func:`dump_report`."""
    return dump_report(build_report(result, **options))
