"""Rendering an audit report: a terminal table, JSON for pipelines, Markdown for a file."""

from __future__ import annotations

import io
import json
from typing import Literal

from rich.console import Console
from rich.table import Table

from inspraak.audit.findings import CHECKS, AuditReport, Finding, Severity

__all__ = ["OutputFormat", "render", "render_json", "render_markdown", "render_terminal"]

OutputFormat = Literal["terminal", "json", "md"]

_STYLE = {Severity.high: "bold red", Severity.medium: "yellow", Severity.low: "cyan"}


def _summary(report: AuditReport) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for finding in report.findings:
        counts[finding.severity.value] += 1
    return counts


def _as_dict(finding: Finding) -> dict[str, object]:
    where = finding.location
    return {
        "check": finding.check,
        "severity": finding.severity.value,
        "title": CHECKS[finding.check].title,
        "location": {
            "source": where.source,
            "key": where.key,
            "part": where.part,
            "line": where.line,
        },
        "detail": finding.detail,
    }


def render_json(report: AuditReport) -> str:
    """A JSON document: summary counts, sources read, exit status and every finding."""
    document = {
        "summary": _summary(report),
        "exit_status": report.exit_code,
        "sources": report.sources,
        "findings": [_as_dict(f) for f in report.sorted()],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: AuditReport) -> str:
    """A Markdown page for the DPIA file: summary, sources, and a table of findings."""
    counts = _summary(report)
    lines = [
        "# Inspraak audit report",
        "",
        "Summary: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        "",
        "Sources read: " + ("; ".join(report.sources) or "none"),
        "",
    ]
    if not report.findings:
        lines.append("No findings.")
        return "\n".join(lines) + "\n"
    lines += ["| severity | check | where | detail |", "|---|---|---|---|"]
    for f in report.sorted():
        lines.append(
            f"| {f.severity.value} | `{f.check}` | {_cell(str(f.location))} | {_cell(f.detail)} |"
        )
    return "\n".join(lines) + "\n"


def render_terminal(report: AuditReport, *, width: int = 120) -> str:
    """A coloured table for a terminal (plain text when the output is not a terminal)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, highlight=False)
    console.print("[bold]Sources read:[/] " + ("; ".join(report.sources) or "none"))
    if report.findings:
        table = Table("severity", "check", "where", "detail", show_lines=False)
        for f in report.sorted():
            style = _STYLE.get(f.severity, "")
            table.add_row(f.severity.value, f.check, str(f.location), f.detail, style=style)
        console.print(table)
    counts = _summary(report)
    console.print("Summary: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    verdict = "FAIL (high findings)" if report.exit_code else "OK (no high findings)"
    console.print(f"[bold]{verdict}[/]")
    return buffer.getvalue()


def render(report: AuditReport, output: OutputFormat) -> str:
    """Render in one of the three formats."""
    if output == "json":
        return render_json(report)
    if output == "md":
        return render_markdown(report)
    return render_terminal(report)
