"""The report: small groups never shown, counts hidden below k, no NaN; the SVG map and
its table are accessible."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np

from analysis import (
    AnalysisParams,
    VoteMatrixBuilder,
    build_report,
    render_svg,
    render_table,
    report_to_json,
    run,
    statement_priorities,
)
from analysis.report import dump_report
from tests.analysis.test_pipeline import planted

SVG = "{http://www.w3.org/2000/svg}"


def two_groups():
    matrix, _ = planted([50, 20], 30, 2, 0.6, seed=8)
    return run(matrix)


def test_groups_below_min_size_are_suppressed() -> None:
    result = two_groups()
    sizes = result.group_sizes()
    assert len(sizes) == 2
    small = int(np.argmin(sizes))
    k = int(sizes[small]) + 1
    report = build_report(result, min_group_size=k)
    assert [g["size"] for g in report["groups"]] == [int(sizes.max())]
    members_of_small = {
        str(p)
        for p, g in zip(result.votes.participant_ids, result.labels, strict=True)
        if g == small
    }
    assert all(report["participants"][p] is None for p in members_of_small)
    assert report["n_in_suppressed_groups"] is None or report["n_in_suppressed_groups"] >= k
    for entry in report["groups"][0]["representative"]:
        assert entry["n_trials"] is None or entry["n_trials"] >= k


def test_no_groups_shown_when_all_are_small() -> None:
    result = two_groups()
    report = build_report(result, min_group_size=10_000)
    assert report["groups"] == []
    assert set(report["participants"].values()) == {None}
    assert report["group_informed_consensus"] == {}
    for direction in ("agree", "disagree"):
        assert all(c["n_success"] is None for c in report["consensus"][direction])


def test_report_shape_and_json() -> None:
    result = two_groups()
    report = json.loads(report_to_json(result, statement_texts={0: "Eerste stelling"}))
    assert report["n_participants"] == result.votes.n_participants
    assert set(report["participants"]) == {str(p) for p in result.votes.participant_ids}
    assert len(report["projections"]) == result.votes.n_participants
    assert sum(g["size"] for g in report["groups"]) == report["n_clustered"]
    assert set(report["priorities"]) == {str(s) for s in result.votes.statement_ids}


def test_svg_is_accessible_and_draws_everyone() -> None:
    report = build_report(two_groups())
    root = ET.fromstring(render_svg(report, title="Kaart & <test>"))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Kaart & <test>"
    assert "opinion" in root.find(f"{SVG}desc").text
    assert len(root.findall(f"{SVG}circle")) == len(report["projections"])
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert len(labels) == len(report["groups"]) and labels[0].startswith("Groep 1")


def test_svg_switches_to_density_for_many_points() -> None:
    report = build_report(two_groups())
    root = ET.fromstring(render_svg(report, max_points=10))
    assert not root.findall(f"{SVG}circle")
    assert len(root.findall(f"{SVG}rect")) > 1


def test_table_lists_each_group() -> None:
    report = build_report(two_groups())
    table = ET.fromstring(render_table(report))
    assert table.find("caption") is not None
    assert len(table.findall("./tbody/tr")) == len(report["groups"])


def test_participants_and_projections_follow_the_result() -> None:
    result = two_groups()
    report = build_report(result, min_group_size=1)
    projections = result.pca.projections
    for row, pid in enumerate(result.votes.participant_ids):
        label = int(result.labels[row])
        assert report["participants"][str(pid)] == (label if label >= 0 else None)
        assert report["projections"][str(pid)] == [round(float(x), 4) for x in projections[row, :2]]
    assert dump_report(report) == report_to_json(result, min_group_size=1)


def test_priorities_map_statements_by_id_in_any_column_order() -> None:
    builder = VoteMatrixBuilder()  # columns in order of first vote: 9, 3, 7, 1, 5, 20
    rng = np.random.default_rng(4)
    builder.add(
        [f"p{p}" for p in rng.integers(0, 40, 1500)],
        rng.choice([9, 3, 7, 1, 5, 20], 1500).tolist(),
        rng.integers(-1, 2, 1500).tolist(),
    )
    matrix = builder.matrix()
    assert matrix.statement_ids.tolist() != sorted(matrix.statement_ids.tolist())
    result = run(matrix, moderated_ids=[7], meta_ids=[20], statement_ids=[99, 3])
    priorities = build_report(result)["priorities"]
    assert sorted(priorities, key=int) == ["1", "3", "5", "9", "20", "99"]  # 7 moderated out
    assert priorities["99"] == (1 / 4 * 9) ** 2  # unseen: p_pass = p_agree = 1/2, newness 9
    assert priorities["20"] == AnalysisParams().meta_priority ** 2
    columns = list(matrix.statement_ids)
    extremity = dict(
        zip(result.rating.statement_ids.tolist(), result.pca.statement_extremity, strict=True)
    )
    for sid in (1, 3, 5, 9):
        column = result.votes.votes.toarray()[:, columns.index(sid)]
        seen = result.votes.pattern().toarray()[:, columns.index(sid)].astype(bool)
        expected = statement_priorities(
            np.array([(column[seen] == 1).sum()]),
            np.array([(column[seen] == -1).sum()]),
            np.array([seen.sum()]),
            np.array([extremity[sid]]),
            np.array([False]),
        )
        assert priorities[str(sid)] == round(float(expected[0]), 6)
