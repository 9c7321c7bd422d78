"""The opinion map as an accessible SVG, and the same information as an HTML table.

Participants are drawn as points (or, above ``max_points``, as a density grid), groups are
labelled at their centres, and the SVG carries ``<title>``/``<desc>`` and ``role="img"``.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["render_svg", "render_table"]

_COLOURS = ("#1b6ca8", "#d1495b", "#2e8b57", "#edae49", "#6a4c93")
_UNCLUSTERED = "#9a9a9a"


def _bounds(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    if not points:
        return -1.0, 1.0, -1.0, 1.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    pad_x = (max(xs) - min(xs)) * 0.05 or 1.0
    pad_y = (max(ys) - min(ys)) * 0.05 or 1.0
    return min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y


def render_svg(
    report: dict[str, Any],
    *,
    title: str = "Opinion map",
    size: int = 480,
    max_points: int = 5000,
    grid: int = 60,
) -> str:
    """An SVG opinion map of a report from :func:`analysis.build_report`."""
    projections: dict[str, list[float | None]] = report.get("projections", {})
    groups_of: dict[str, int | None] = report.get("participants", {})
    points = [
        (float(xy[0]), float(xy[1]), groups_of.get(pid))
        for pid, xy in projections.items()
        if xy[0] is not None and xy[1] is not None
    ]
    x0, x1, y0, y1 = _bounds([(p[0], p[1]) for p in points])

    def sx(x: float) -> float:
        return round((x - x0) / (x1 - x0) * size, 1)

    def sy(y: float) -> float:
        return round(size - (y - y0) / (y1 - y0) * size, 1)

    group_list = report.get("groups", [])
    summary = ", ".join(f"group {g['id'] + 1}: {g['size']} participants" for g in group_list)
    desc = (
        f"{len(points)} participants placed by how they voted; {len(group_list)} opinion "
        f"groups ({summary or 'none'}). Participants who vote alike are close together."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" role="img" aria-labelledby="map-title map-desc">',
        f'<title id="map-title">{escape(title)}</title>',
        f'<desc id="map-desc">{escape(desc)}</desc>',
        f'<rect width="{size}" height="{size}" fill="#ffffff" stroke="#cccccc"/>',
    ]
    if len(points) <= max_points:
        for x, y, g in points:
            colour = _UNCLUSTERED if g is None else _COLOURS[g % len(_COLOURS)]
            parts.append(
                f'<circle cx="{sx(x)}" cy="{sy(y)}" r="2.5" fill="{colour}" fill-opacity="0.6"/>'
            )
    else:
        cell = size / grid
        counts: dict[tuple[int, int], int] = {}
        for x, y, _ in points:
            key = (min(int(sx(x) / cell), grid - 1), min(int(sy(y) / cell), grid - 1))
            counts[key] = counts.get(key, 0) + 1
        peak = max(counts.values())
        for (i, j), n in sorted(counts.items()):
            parts.append(
                f'<rect x="{i * cell:.1f}" y="{j * cell:.1f}" width="{cell:.1f}" '
                f'height="{cell:.1f}" fill="#1b6ca8" fill-opacity="{0.1 + 0.9 * n / peak:.2f}"/>'
            )
    for g in group_list:
        cx, cy = g["center"]
        if cx is None or cy is None:
            continue
        number = g["id"] + 1
        label = escape(f"Groep {number} / Group {number} ({g['size']})")
        parts.append(
            f'<text x="{sx(cx)}" y="{sy(cy)}" font-family="sans-serif" font-size="16" '
            f'font-weight="bold" text-anchor="middle" fill="#000000" stroke="#ffffff" '
            f'stroke-width="3" paint-order="stroke">{label}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def render_table(report: dict[str, Any]) -> str:
    """The map's information as an HTML table: each group, its size and its statements."""
    rows = [
        "<table>",
        "<caption>Groepen / Groups</caption>",
        '<thead><tr><th scope="col">Groep / Group</th><th scope="col">Deelnemers / '
        'Participants</th><th scope="col">Kenmerkende stellingen / Representative '
        "statements</th></tr></thead>",
        "<tbody>",
    ]
    for g in report.get("groups", []):
        statements = "; ".join(
            f"{escape(r['text'] or '#' + str(r['statement_id']))} ({r['repful_for']})"
            for r in g["representative"]
        )
        rows.append(
            f'<tr><th scope="row">{g["id"] + 1}</th><td>{g["size"]}</td><td>{statements}</td></tr>'
        )
    rows += ["</tbody>", "</table>"]
    return "\n".join(rows)
