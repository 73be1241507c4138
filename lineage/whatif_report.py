"""Markdown, JSON, HTML, CSV and terminal renderings of a :class:`~lineage.analysis.whatif.WhatIfReport`.

Names and SQL come from the API and from the user: every writer escapes them (Markdown cells, HTML,
CSV formula prefixes) with the helpers ``lineage impact`` uses.
"""

from __future__ import annotations

from typing import Any

from lineage.analysis.whatif import VERDICTS, WhatIfReport
from lineage.io import csv_text
from lineage.report import (
    _html_page,
    _link,
    _md_table,
    _text_table,
    esc,
    md_cell,
    md_code,
    render_in,
    to_json,
)

__all__ = ["WHATIF_FORMATS", "render_whatif"]

_HEADERS = ("verdict", "name", "kind", "depth", "columns", "why", "path")


def _rows(report: WhatIfReport) -> list[list[Any]]:
    if report.impact is None:
        return []
    rows: list[list[Any]] = []
    for n in report.impact.affected:
        v = report.verdicts.get(n.id)
        verdict = v.verdict if v else "unaffected"
        rows.append(
            [
                verdict,
                n.name,
                n.kind,
                n.depth,
                ", ".join(v.columns) if v else "",
                v.reason if v else "",
                " > ".join(n.path),
            ]
        )
    rank = {v: i for i, v in enumerate(VERDICTS)}
    rows.sort(key=lambda r: (rank[r[0]], r[3], r[1]))
    return rows


def _column_lines(report: WhatIfReport) -> list[tuple[str, str]]:
    c = report.columns
    out = [
        ("removed", ", ".join(c.removed)),
        ("added", ", ".join(c.added)),
        ("renamed", ", ".join(f"{a} -> {b}" for a, b in c.renamed)),
        ("changed", ", ".join(c.changed)),
        ("type changes", ", ".join(f"{n}: {a} -> {b}" for n, a, b in c.type_changes)),
        ("tables newly read", ", ".join(report.tables_added)),
        ("tables no longer read", ", ".join(report.tables_removed)),
    ]
    return [(k, v or "none") for k, v in out]


def _summary(report: WhatIfReport) -> str:
    if report.impact is None:
        return "a new view: nothing reads it yet"
    parts = [f"{report.counts.get(v, 0)} {v}" for v in VERDICTS]
    return ", ".join(parts)


def whatif_markdown(report: WhatIfReport) -> str:
    if report.impact is None:
        lines = [f"# What if new view {md_cell(report.target)} is created", ""]
    else:
        lines = [f"# What if {md_cell(report.target)} changes", ""]
    for w in report.warnings:
        lines.append(f"> **Warning:** {md_cell(w)}")
    if report.warnings:
        lines.append("")
    lines.append(f"- downstream: {md_cell(_summary(report))}")
    if report.columns.rows_change:
        lines.append("- FROM, WHERE or GROUP BY changes: every column it keeps may return other values")
    if report.counts.get("unknown"):
        lines.append("- unknown means it could not be read: review those by hand, they are not safe")
    lines.append("")
    lines += _md_table(("what", "columns or tables"), _column_lines(report))
    rows = _rows(report)
    if rows:
        lines += ["", "## Downstream", ""]
        lines += _md_table(_HEADERS, rows)
    lines += ["", "## Proposed SQL", "", md_code(report.new_sql.rstrip())]
    return "\n".join(lines) + "\n"


def whatif_json(report: WhatIfReport) -> str:
    return to_json(report.to_dict())


def whatif_csv(report: WhatIfReport) -> str:
    return csv_text(_HEADERS, _rows(report))


def whatif_table(report: WhatIfReport) -> str:
    lines = [f"What if {report.target} changes: {_summary(report)}"]
    lines += [f"warning: {w}" for w in report.warnings]
    lines += [f"  {k}: {v}" for k, v in _column_lines(report)]
    rows = _rows(report)
    if rows:
        lines.append("")
        lines += _text_table(_HEADERS[:-1], [r[:-1] for r in rows])
    return "\n".join(lines) + "\n"


def whatif_html(report: WhatIfReport) -> str:
    """One self-contained page (no scripts, no external resources, all text escaped)."""
    url = report.impact.target.url if report.impact is not None else None
    body = [f"<h1>What if {_link(url, report.target)} changes</h1>"]
    for w in report.warnings:
        body.append(f'<p class="warning"><strong>Warning:</strong> {esc(w)}</p>')
    body.append(f"<p>Downstream: {esc(_summary(report))}</p>")
    body.append("<table><tr><th>what</th><th>columns or tables</th></tr>")
    body += [f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in _column_lines(report)]
    body.append("</table>")
    rows = _rows(report)
    if rows and report.impact is not None:
        urls = {n.name: n.url for n in report.impact.affected}
        body.append(
            "<h2>Downstream</h2><table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in _HEADERS) + "</tr>"
        )
        for r in rows:
            tds = [f"<td>{esc(c)}</td>" for c in r]
            tds[0] = f'<td class="{esc(r[0])}">{esc(r[0])}</td>'
            tds[1] = f"<td>{_link(urls.get(r[1]), r[1])}</td>"
            body.append("<tr>" + "".join(tds) + "</tr>")
        body.append("</table>")
    body.append(f"<h2>Proposed SQL</h2><pre>{esc(report.new_sql.rstrip())}</pre>")
    return _html_page(f"What if {report.target} changes", body)


WHATIF_FORMATS = {
    "md": whatif_markdown,
    "json": whatif_json,
    "html": whatif_html,
    "csv": whatif_csv,
    "table": whatif_table,
}


def render_whatif(report: WhatIfReport, fmt: str) -> str:
    """What-if impact in one of ``WHATIF_FORMATS``."""
    return render_in(WHATIF_FORMATS, "what-if", report, fmt)
