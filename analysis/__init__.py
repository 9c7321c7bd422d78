"""Inspraak analysis: Polis-compatible consensus engine.

The worker (:mod:`analysis.worker`) and the command (:mod:`analysis.cli`) are imported
from their modules: they depend on ``inspraak`` settings, which themselves import
``analysis.config``.
"""

from analysis.agreement import Agreement, polis_agreement
from analysis.cluster import Clustering, KSmoother, cluster
from analysis.matrix import VoteMatrix, VoteMatrixBuilder, build_vote_matrix, drop_statements
from analysis.params import AnalysisParams
from analysis.pca import PCAResult, project
from analysis.pipeline import AnalysisResult, run
from analysis.polis_io import PolisExport, load_polis_export, load_votes_csv
from analysis.priorities import statement_priorities
from analysis.report import build_report, report_to_json
from analysis.selection import select_participants
from analysis.stats import (
    Consensus,
    ConsensusStatement,
    GroupStats,
    RepresentativeStatement,
    consensus_statements,
    group_informed_consensus,
    group_stats,
    representative_statements,
)
from analysis.svg import render_svg, render_table

__all__ = [
    "Agreement",
    "AnalysisParams",
    "AnalysisResult",
    "Clustering",
    "Consensus",
    "ConsensusStatement",
    "GroupStats",
    "KSmoother",
    "PCAResult",
    "PolisExport",
    "RepresentativeStatement",
    "VoteMatrix",
    "VoteMatrixBuilder",
    "build_report",
    "build_vote_matrix",
    "cluster",
    "consensus_statements",
    "drop_statements",
    "group_informed_consensus",
    "group_stats",
    "load_polis_export",
    "load_votes_csv",
    "polis_agreement",
    "project",
    "render_svg",
    "render_table",
    "report_to_json",
    "representative_statements",
    "run",
    "select_participants",
    "statement_priorities",
]
