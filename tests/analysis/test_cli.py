"""``inspraak analyze``: report JSON from a Polis export, ids exactly as in the input."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from inspraak.cli import app


def test_analyze_writes_report_and_map(opendata, tmp_path) -> None:
    export = opendata / "london.youth.policing"
    out, svg = tmp_path / "report.json", tmp_path / "map.svg"
    result = CliRunner().invoke(app, ["analyze", str(export), "-o", str(out), "--svg", str(svg)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    with (export / "votes.csv").open(newline="", encoding="utf-8") as handle:
        voters = {row["voter-id"] for row in csv.DictReader(handle)}
    assert set(report["participants"]) == voters
    assert report["n_votes"] > 0 and report["groups"]
    assert svg.read_text(encoding="utf-8").startswith("<svg")


def test_analyze_prints_json_without_output(opendata) -> None:
    result = CliRunner().invoke(app, ["analyze", str(opendata / "brexit-consensus"), "--seed", "3"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["seed"] == 3


def test_analyze_reads_a_plain_votes_csv(tmp_path) -> None:
    votes = tmp_path / "votes.csv"
    rows = ["participant,statement,vote"] + [
        f"x{p},{s},{1 if (p + s) % 3 else -1}" for p in range(20) for s in range(8)
    ]
    votes.write_text("\n".join(rows), encoding="utf-8")
    result = CliRunner().invoke(app, ["analyze", str(votes)])
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)["participants"]) == {f"x{p}" for p in range(20)}


def test_analyze_explains_a_bad_path(tmp_path) -> None:
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "cannot analyse" in result.output


def test_analyze_refuses_bad_votes(tmp_path) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text("participant,statement,vote\na,1,5\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["analyze", str(votes)])
    assert result.exit_code == 1
    assert "-1" in result.output
