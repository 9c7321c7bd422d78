"""``inspraak analyze``: report JSON from a Polis export, ids exactly as in the input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from analysis import build_vote_matrix, run
from analysis.cli import STAGE_LABELS, StageProgress, analyze_command
from analysis.pipeline import STAGES
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


@pytest.fixture
def drawing_terminal(monkeypatch) -> None:
    """A TERM that can move the cursor (rich draws nothing live on a dumb terminal)."""
    monkeypatch.setenv("TERM", "xterm-256color")


def _labels_in_order(text: str, stages: list[str]) -> bool:
    """Every stage's label is drawn, and the first drawings come in stage order."""
    positions = [text.find(STAGE_LABELS[s]) for s in stages]
    return all(p >= 0 for p in positions) and positions == sorted(positions)


def test_run_announces_its_stages_in_order() -> None:
    rows = [(f"p{p}", s, 1 if (p * s) % 3 else -1) for p in range(30) for s in range(6)]
    matrix = build_vote_matrix(*zip(*rows, strict=True))
    seen: list[str] = []
    quiet = run(matrix)
    watched = run(matrix, progress=seen.append)
    assert seen == list(STAGES)
    assert watched.participant_groups() == quiet.participant_groups()


def test_forced_bar_goes_to_stderr_and_stdout_stays_json(opendata, drawing_terminal) -> None:
    export = opendata / "brexit-consensus"
    result = CliRunner().invoke(app, ["analyze", str(export), "--progress"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_votes"] > 0
    assert _labels_in_order(result.stderr, ["load", *STAGES, "report"])
    assert "8/8" in result.stderr  # the bar counts the stages and ends full
    assert STAGE_LABELS["svg"] not in result.stderr


def test_bar_counts_the_map_when_asked(opendata, tmp_path, drawing_terminal) -> None:
    svg = tmp_path / "map.svg"
    export = opendata / "brexit-consensus"
    result = CliRunner().invoke(app, ["analyze", str(export), "--progress", "--svg", str(svg)])
    assert result.exit_code == 0, result.output
    assert _labels_in_order(result.stderr, ["load", *STAGES, "report", "svg"])
    assert "9/9" in result.stderr
    assert svg.read_text(encoding="utf-8").startswith("<svg")


def test_no_bar_when_stderr_is_not_a_terminal(opendata, monkeypatch) -> None:
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):  # rich's overrides
        monkeypatch.delenv(variable, raising=False)
    result = CliRunner().invoke(app, ["analyze", str(opendata / "brexit-consensus")])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout)["n_votes"] > 0


def test_no_progress_overrides_a_terminal(opendata, capsys, drawing_terminal) -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, force_interactive=True)
    analyze_command(opendata / "brexit-consensus", progress=False, console=terminal)
    assert terminal.file.getvalue() == ""
    assert json.loads(capsys.readouterr().out)["n_votes"] > 0


def test_bar_on_a_terminal_waits_for_a_long_run(drawing_terminal) -> None:
    def drive(delay: float) -> str:
        terminal = Console(file=io.StringIO(), force_terminal=True, force_interactive=True)
        with StageProgress(["load", *STAGES], console=terminal, delay=delay) as stage:
            for name in ["load", *STAGES]:
                stage(name)
        return terminal.file.getvalue()

    assert _labels_in_order(drive(0.0), ["load", *STAGES])
    assert drive(3600.0) == ""  # finished long before the bar was due


def test_failed_run_removes_the_bar_and_explains(tmp_path) -> None:
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "missing"), "--progress"])
    assert result.exit_code == 1
    assert "cannot analyse" in result.stderr
    assert result.stdout == ""
