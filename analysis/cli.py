"""``inspraak analyze PATH``: a Polis export folder (or a votes CSV) in, report JSON out."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from analysis.params import AnalysisParams
from analysis.pipeline import run
from analysis.polis_io import load_polis_export
from analysis.report import build_report, report_to_json
from analysis.svg import render_svg

__all__ = ["analyze_command"]

_LONG_RUN_VOTES = 200_000
"""Show a progress display above this many votes (shorter runs finish at once)."""


def analyze_command(
    path: Path,
    *,
    output: Path | None = None,
    svg: Path | None = None,
    seed: int = 0,
    min_group_size: int = 5,
) -> None:
    """Analyse ``path`` and write the report to ``output`` (stdout when None)."""
    console = Console(stderr=True)
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("Stemmen inlezen / reading votes", total=None)
            export = load_polis_export(path)
            if export.votes.n_votes < _LONG_RUN_VOTES:
                progress.update(task, visible=False)
            progress.update(task, description="Analyseren / analysing")
            with threadpool_limits(limits=1):
                result = run(
                    export.votes,
                    AnalysisParams(seed=seed),
                    moderated_ids=export.moderated_ids,
                    meta_ids=export.meta_ids,
                )
    except (OSError, ValueError) as error:
        console.print(
            f"[red]Kan {path} niet analyseren / cannot analyse {path}:[/] {error}",
            highlight=False,
        )
        raise typer.Exit(1) from error
    texts = export.statement_texts
    text = report_to_json(result, min_group_size=min_group_size, statement_texts=texts)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Rapport geschreven / report written: {output}")
    if svg is not None:
        report = build_report(result, min_group_size=min_group_size, statement_texts=texts)
        svg.write_text(render_svg(report, title=export.topic or "Opinion map"), encoding="utf-8")
        console.print(f"Kaart geschreven / map written: {svg}")
