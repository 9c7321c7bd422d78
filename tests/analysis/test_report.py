"""The report: small groups never shown, counts hidden below k, no NaN; the SVG map and
its table are accessible."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np

from analysis import build_report, render_svg, render_table, report_to_json, run
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
