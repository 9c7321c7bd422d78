"""``inspraak analyze PATH``: a Polis export folder (or a votes CSV) in, report JSON out.

A progress bar over the stages (reading, the pipeline's :data:`~analysis.pipeline.STAGES`,
the report, the map) goes to stderr, never stdout, so that the JSON can be piped.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from analysis.params import AnalysisParams
from analysis.pipeline import STAGES, run
from analysis.polis_io import load_polis_export
from analysis.report import build_report, dump_report
from analysis.svg import render_svg

__all__ = ["SHOW_AFTER_SECONDS", "STAGE_LABELS", "StageProgress", "analyze_command"]

STAGE_LABELS = {
    "load": "Stemmen inlezen / reading votes",
    "matrix": "Stemmenmatrix / vote matrix",
    "pca": "Hoofdcomponenten / PCA",
    "selection": "Deelnemers kiezen / selecting participants",
    "clustering": "Groepen vormen / clustering",
    "group_stats": "Groepen vergelijken / group statistics",
    "priorities": "Prioriteiten / priorities",
    "report": "Rapport maken / building the report",
    "svg": "Kaart tekenen / drawing the map",
}
"""What the bar says during each stage (B1 Dutch / English)."""

SHOW_AFTER_SECONDS = 0.5
"""On a terminal the bar appears once a run lasts this long (short runs finish at once)."""


class StageProgress:
    """A rich progress bar with one step per stage; call it with a stage name as it starts.

    ``show``: True draws the bar at once, False never, None (the default) draws it after
    ``delay`` seconds when ``console`` is an interactive terminal. Use it as a context
    manager: leaving completes the last stage and removes the bar.
    """

    def __init__(
        self,
        stages: Sequence[str],
        *,
        console: Console,
        show: bool | None = None,
        delay: float = SHOW_AFTER_SECONDS,
    ) -> None:
        enabled = show if show is not None else console.is_interactive
        self._delay = 0.0 if show else delay
        self._progress = Progress(
            TextColumn("{task.description:<44}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,  # stdout carries the JSON
            disable=not enabled,
        )
        self._task = self._progress.add_task("", total=len(stages), start=False)
        self._enabled = enabled
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._started = False
        self._closed = False
        self._current: str | None = None

    def __call__(self, stage: str) -> None:
        """Mark the stage before ``stage`` done and show ``stage`` as running."""
        with self._lock:
            if self._current is not None:
                self._progress.advance(self._task)
            self._current = stage
            self._progress.update(self._task, description=STAGE_LABELS.get(stage, stage))
            if self._started:
                self._progress.refresh()

    def __enter__(self) -> StageProgress:
        self._progress.start_task(self._task)
        if not self._enabled:
            return self
        if self._delay <= 0:
            self._show()
        else:
            self._timer = threading.Timer(self._delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._started:
                if kind is None and self._current is not None:
                    self._progress.advance(self._task)
                    self._progress.refresh()
                self._progress.stop()

    def _show(self) -> None:
        with self._lock:
            if not self._closed and not self._started:
                self._started = True
                self._progress.start()


def analyze_command(
    path: Path,
    *,
    output: Path | None = None,
    svg: Path | None = None,
    seed: int = 0,
    min_group_size: int = 5,
    progress: bool | None = None,
    console: Console | None = None,
) -> None:
    """Analyse ``path`` and write the report to ``output`` (stdout when None).

    ``progress`` True/False forces the bar on or off; None shows it on a terminal for runs
    that take a while. ``console`` (stderr by default) receives the bar and the messages.
    """
    console = console or Console(stderr=True)
    bar_console = console
    if progress and not console.is_interactive:  # asked for: draw it into a pipe too
        bar_console = Console(file=console.file, force_terminal=True, force_interactive=True)
    stages = ["load", *STAGES, "report", *(["svg"] if svg is not None else [])]
    map_svg = None
    try:
        with StageProgress(stages, console=bar_console, show=progress) as stage:
            stage("load")
            export = load_polis_export(path)
            with threadpool_limits(limits=1):
                result = run(
                    export.votes,
                    AnalysisParams(seed=seed),
                    moderated_ids=export.moderated_ids,
                    meta_ids=export.meta_ids,
                    progress=stage,
                )
            stage("report")
            texts = export.statement_texts
            report = build_report(result, min_group_size=min_group_size, statement_texts=texts)
            text = dump_report(report)
            if svg is not None:
                stage("svg")
                map_svg = render_svg(report, title=export.topic or "Opinion map")
    except (OSError, ValueError) as error:
        console.print(
            f"[red]Kan {path} niet analyseren / cannot analyse {path}:[/] {error}",
            highlight=False,
        )
        raise typer.Exit(1) from error
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Rapport geschreven / report written: {output}")
    if svg is not None and map_svg is not None:
        svg.write_text(map_svg, encoding="utf-8")
        console.print(f"Kaart geschreven / map written: {svg}")
