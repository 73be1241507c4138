"""Writers for analysis results: Markdown, CSV, JSON, HTML and plain text.

Every string that came from the API (names, folders, errors, SQL, owners) is untrusted: Markdown cells
are escaped so they cannot break the table or inject HTML, CSV cells cannot start a formula, HTML is
escaped everywhere and carries no scripts or external resources.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from lineage.analysis.checks import CheckReport
from lineage.analysis.diff import JOB_FIELDS, SnapshotDiff
from lineage.analysis.impact import ImpactNode, ImpactReport
from lineage.consumer_nodes import not_read_lines, plural
from lineage.errors import InputError
from lineage.fastjson import dumps_indented
from lineage.graph import CONSUMER_KINDS
from lineage.io import csv_text, text_table, visible

if TYPE_CHECKING:  # only in annotations: columns imports sqlglot, which impact and check do not need
    from lineage.analysis.columns import ColumnImpact

_R = TypeVar("_R")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


# ---------------------------------------------------------------- escaping


def md_cell(value: Any) -> str:
    """One Markdown table cell: no line breaks, pipes, backticks, emphasis, links or raw HTML survive."""
    if value is None:
        return ""
    text = visible(_one_line(str(value)))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).strip()


def _one_line(text: str) -> str:
    """Line and paragraph breaks and tabs folded to spaces (a cell or a finding stays one line)."""
    return re.sub(r"[\t\r\n\u2028\u2029]+", " ", text)


def md_code(value: Any) -> str:
    """Text for a fenced code block: a fence that the text cannot close."""
    # Newlines and tabs are the code's own; other controls (terminal escapes, bidi overrides) are shown.
    text = visible(str(value))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def esc(value: Any) -> str:
    """HTML-escaped text (quotes included)."""
    return html.escape("" if value is None else visible(str(value)), quote=True)


def to_json(data: Any, *, finite: bool = False) -> str:
    """Stable JSON: sorted keys, two-space indent, trailing newline.

    ``finite=True``: the caller knows ``data`` holds no NaN or infinite float (saves a walk over it).
    """
    return dumps_indented(data, sort_keys=True, indent=2, default=str, finite=finite) + "\n"


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def clean(v: Any) -> str:
        return visible(_one_line("" if v is None else str(v)))

    return text_table([[clean(h) for h in headers], *[[clean(c) for c in row] for row in rows]], rule=True)


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 120:
        return f"{value:g} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


# ---------------------------------------------------------------- impact

_IMPACT_COLUMNS = (
    "depth",
    "name",
    "kind",
    "materialized",
    "cadence",
    "health",
    "streak",
    "last success",
    "rows",
    "owner",
    "folder",
    "path",
)


def _impact_row(n: ImpactNode) -> list[Any]:
    return [
        n.depth,
        n.name,
        n.kind,
        "yes" if n.materialized else "no",
        n.cadence,
        n.health + (" (suspended)" if n.suspended else ""),
        n.failure_streak or "",
        n.last_success_at,
        n.rows,
        n.owner,
        n.folder,
        " > ".join(n.path),
    ]


def _target_notes(t: ImpactNode) -> list[str]:
    """The newest PostHog's facts about the target: who last changed its SQL, and suspension."""
    out = []
    if t.last_editor or t.last_edited_at:
        out.append(
            f"last SQL change: by {t.last_editor or 'unknown'} at {t.last_edited_at or 'unknown time'}"
        )
    if t.suspended:
        out.append("suspended by PostHog after repeated failed runs: it and what reads it do not refresh")
    return out


def impact_markdown(report: ImpactReport) -> str:
    """Impact as Markdown: a summary, the refresh plan, broken nodes and one table row per affected node."""
    s = report.summary
    t = report.target
    lines = [f"# Impact of {md_cell(t.name)}", ""]
    lines.append(
        f"- target: {md_cell(t.name)} ({md_cell(t.kind)}, health {md_cell(t.health)}, id {md_cell(t.id)})"
    )
    if t.url:
        lines.append(f"- open in PostHog: <{esc(t.url)}>")
    lines += [f"- {md_cell(line)}" for line in _target_notes(t)]
    kinds = ", ".join(f"{md_cell(k)} {v}" for k, v in s.by_kind.items()) or "none"
    lines.append(f"- affected: {s.affected} node(s) ({kinds}), up to {s.max_depth} hop(s) away")
    if report.max_depth is not None:
        lines.append(f"- limited to {report.max_depth} hop(s)")
    lines += _consumers_markdown(report)
    lines += ["", "## Refresh plan", ""]
    if s.refresh_order:
        lines.append(
            "Materialized views to refresh, in order: " + ", ".join(md_cell(n) for n in s.refresh_order)
        )
        lines.append("")
        crit = " > ".join(md_cell(n) for n in s.critical_path)
        lines.append(
            f"Estimated refresh time {_seconds(s.estimated_refresh_s)} along the critical path {crit}."
        )
        if s.unknown_durations:
            lines.append("No run durations for: " + ", ".join(md_cell(n) for n in s.unknown_durations) + ".")
    else:
        lines.append("No materialized views to refresh.")
    lines += ["", "## Failing or stale", ""]
    if s.broken:
        lines += _md_table(("name", "health", "reason"), [(b.name, b.health, b.reason) for b in s.broken])
    else:
        lines.append("None in the blast radius.")
    lines += ["", "## Affected", ""]
    if report.affected:
        lines += _md_table(_IMPACT_COLUMNS, [_impact_row(n) for n in report.affected])
    else:
        lines.append("Nothing downstream.")
    return "\n".join(lines) + "\n"


def _consumers_markdown(report: ImpactReport) -> list[str]:
    """The "Consumers" and "Who to tell" sections: what people look at, grouped by kind, with links."""
    lines = ["", "## Consumers", ""]
    groups = report.consumers
    if not groups:
        lines.append("No insight, dashboard, notebook, endpoint or alert in the snapshot reads it.")
    for kind, nodes in groups.items():
        lines.append(f"- {plural(kind)} ({len(nodes)}): " + ", ".join(_md_link(n) for n in nodes))
    for line in not_read_lines(report.consumers_not_read):
        lines.append(f"- {md_cell(line)}")
    lines += ["", "## Who to tell", ""]
    contacts = report.who_to_tell
    if contacts:
        lines += [f"- {md_cell(c.owner)}: {', '.join(md_cell(i) for i in c.items)}" for c in contacts]
    else:
        lines.append("No owner is known for an affected insight or dashboard.")
    return lines


def _md_link(n: ImpactNode) -> str:
    """``[name](url)`` when the node has an http(s) link, else the escaped name."""
    if n.url and n.url.startswith(("https://", "http://")):
        target = n.url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
        return f"[{md_cell(n.name)}](<{esc(target)}>)"
    return md_cell(n.name)


def impact_csv(report: ImpactReport) -> str:
    """Impact as CSV, one row per affected node (the target not included)."""
    headers = _IMPACT_CSV_COLUMNS
    rows = [[getattr(n, h) for h in headers] for n in report.affected]
    return csv_text(headers, rows)


def impact_json(report: ImpactReport) -> str:
    """Impact as JSON (``target``, ``affected``, ``summary``), keys sorted."""
    # Its only floats are the durations, their sum and what the snapshot's header holds: checking those
    # is cheaper than walking the whole output for NaN (a 20,000-view impact has 300,000 values).
    values = [n.median_duration_s for n in (report.target, *report.affected)]
    values += [report.summary.estimated_refresh_s, *report.meta.values()]
    finite = all(
        v is None or type(v) in (str, int, bool) or (type(v) is float and math.isfinite(v)) for v in values
    )
    return to_json(report.to_dict(), finite=finite and _only_known_floats(report))


def _only_known_floats(report: ImpactReport) -> bool:
    """Whether the impact classes still have their known fields (a new float field must be walked)."""
    return tuple(ImpactNode.__dataclass_fields__) == _IMPACT_NODE_FIELDS


#: The impact CSV's columns: every ImpactNode field but the median duration, in field order.
_IMPACT_CSV_COLUMNS = (
    "id",
    "name",
    "kind",
    "depth",
    "path",
    "materialized",
    "cadence",
    "status",
    "health",
    "last_status",
    "failure_streak",
    "last_success_at",
    "rows",
    "owner",
    "folder",
    "url",
)
#: Every ImpactNode field, as _only_known_floats expects them: the one float is the median duration
#: (``suspended`` is a bool, the last editor and edit time strings).
_IMPACT_NODE_FIELDS = (
    *_IMPACT_CSV_COLUMNS,
    "median_duration_s",
    "suspended",
    "last_editor",
    "last_edited_at",
)


def impact_table(report: ImpactReport) -> str:
    """Impact as an aligned plain-text table for terminals."""
    s = report.summary
    head = [
        f"impact of {visible(_one_line(report.target.name))}: {s.affected} affected, "
        f"{len(s.refresh_order)} to refresh "
        f"(~{_seconds(s.estimated_refresh_s) or '0 s'}), {len(s.broken)} failing or stale"
    ]
    for kind, nodes in report.consumers.items():
        names = ", ".join(
            visible(_one_line(n.name)) + (f" <{visible(n.url)}>" if n.url else "") for n in nodes
        )
        head.append(f"{plural(kind)} ({len(nodes)}): {names}")
    if report.consumers_not_read is not None:  # an older snapshot: the table stays as it was
        head += not_read_lines(report.consumers_not_read)
    for c in report.who_to_tell:
        head.append(f"tell {visible(_one_line(c.owner))}: {visible(_one_line(', '.join(c.items)))}")
    return "\n".join(head + _text_table(_IMPACT_COLUMNS, [_impact_row(n) for n in report.affected])) + "\n"


_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:13px}"
    "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}"
    ".failing{color:#b00020;font-weight:600}.stale{color:#a15c00}.ok{color:#1b6e20}code{white-space:pre-wrap}"
)


def _html_page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _link(url: str | None, text: str) -> str:
    if url and url.startswith(("https://", "http://")):
        return f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(text)}</a>'
    return esc(text)


def impact_html(report: ImpactReport) -> str:
    """Impact as one self-contained HTML page (no scripts, no external resources, all text escaped)."""
    s = report.summary
    t = report.target
    body = [f"<h1>Impact of {_link(t.url, t.name)}</h1>", "<ul>"]
    body += [f"<li>{esc(line)}</li>" for line in _target_notes(t)]
    kinds = ", ".join(f"{esc(k)} {v}" for k, v in s.by_kind.items()) or "none"
    body.append(f"<li>{s.affected} affected node(s) ({kinds}), up to {s.max_depth} hop(s) away</li>")
    order = ", ".join(esc(n) for n in s.refresh_order) or "none"
    body.append(f"<li>refresh in order: {order}</li>")
    crit = " &gt; ".join(esc(n) for n in s.critical_path)
    took = esc(_seconds(s.estimated_refresh_s) or "0 s")
    body.append(f"<li>estimated refresh time {took} along {crit or 'nothing'}</li>")
    body.append("</ul>")
    body.append("<h2>Consumers</h2><ul>")
    groups = report.consumers
    if not groups:
        body.append("<li>No insight, dashboard, notebook, endpoint or alert in the snapshot reads it.</li>")
    for kind, nodes in groups.items():
        links = ", ".join(_link(n.url, n.name) for n in nodes)
        body.append(f"<li>{esc(plural(kind))} ({len(nodes)}): {links}</li>")
    body += [f"<li>{esc(line)}</li>" for line in not_read_lines(report.consumers_not_read)]
    body.append("</ul><h2>Who to tell</h2><ul>")
    contacts = report.who_to_tell
    body += [f"<li>{esc(c.owner)}: {esc(', '.join(c.items))}</li>" for c in contacts]
    if not contacts:
        body.append("<li>No owner is known for an affected insight or dashboard.</li>")
    body.append("</ul>")
    if s.broken:
        body.append("<h2>Failing or stale</h2><table><tr><th>name</th><th>health</th><th>reason</th></tr>")
        body += [
            f'<tr><td>{esc(b.name)}</td><td class="{esc(b.health)}">{esc(b.health)}</td>'
            f"<td>{esc(b.reason)}</td></tr>"
            for b in s.broken
        ]
        body.append("</table>")
    body.append(
        "<h2>Affected</h2><table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in _IMPACT_COLUMNS) + "</tr>"
    )
    for n in report.affected:
        cells = _impact_row(n)
        tds = [f"<td>{esc(c)}</td>" for c in cells]
        tds[1] = f"<td>{_link(n.url, n.name)}</td>"
        tds[5] = f'<td class="{esc(n.health)}">{esc(n.health)}</td>'
        body.append("<tr>" + "".join(tds) + "</tr>")
    body.append("</table>")
    return _html_page(f"Impact of {t.name}", body)


IMPACT_FORMATS = {
    "md": impact_markdown,
    "csv": impact_csv,
    "json": impact_json,
    "html": impact_html,
    "table": impact_table,
}


def render_impact(report: ImpactReport, fmt: str) -> str:
    """Impact in one of ``IMPACT_FORMATS``."""
    return render_in(IMPACT_FORMATS, "impact", report, fmt)


def render_in(formats: Mapping[str, Callable[[_R], str]], what: str, report: _R, fmt: str) -> str:
    """``report`` written by ``formats[fmt]``; another ``fmt`` is an InputError listing the formats."""
    try:
        return formats[fmt](report)
    except KeyError:
        raise InputError(f"unknown {what} format {fmt!r}; use one of {', '.join(formats)}") from None


# ---------------------------------------------------------------- column impact


def _column_rows(ci: ColumnImpact) -> list[tuple[str, str, str, str]]:
    rows = [("derived", d.view, d.column, ", ".join(d.sources)) for d in ci.derived]
    rows += [("used", u.view, u.column, u.clause) for u in ci.usages]
    rows += [("unknown", u.view, "", u.reason) for u in ci.unknown]
    rows += [(f"{c.kind} {c.verdict}", c.name, "", c.detail) for c in ci.consumers]
    return rows


_COLUMN_HEADERS = ("effect", "view", "column", "detail")


def render_column_impact(ci: ColumnImpact, fmt: str) -> str:
    """Column impact as md, csv, json, html or table."""
    title = f"{ci.target}.{ci.column}"
    if fmt == "json":
        return to_json(ci.to_dict())
    if fmt == "csv":
        return csv_text(_COLUMN_HEADERS, _column_rows(ci))
    if fmt == "md":
        lines = [f"# Column impact of {md_cell(title)}", ""]
        lines.append(
            f"- views deriving or using it: {len(ci.affected_views)}; impact unknown: {len(ci.unknown)}; "
            f"unaffected: {len(ci.unaffected)}"
        )
        if ci.consumers:
            uses = sum(1 for c in ci.consumers if c.verdict == "uses")
            lines.append(
                f"- consumers using it: {uses}; consumers whose use is unknown: {len(ci.consumers) - uses}"
            )
        if ci.unknown or any(c.verdict == "unknown" for c in ci.consumers):
            lines.append("- impact unknown means the view could not be analysed: review it by hand")
        lines += [f"- {md_cell(line)}" for line in not_read_lines(ci.consumers_not_read)]
        lines.append("")
        lines += (
            _md_table(_COLUMN_HEADERS, _column_rows(ci))
            if _column_rows(ci)
            else ["Nothing downstream uses it."]
        )
        return "\n".join(lines) + "\n"
    if fmt == "table":
        return (
            "\n".join(
                [
                    f"column impact of {visible(_one_line(title))}",
                    *(not_read_lines(ci.consumers_not_read) if ci.consumers_not_read is not None else []),
                    *_text_table(_COLUMN_HEADERS, _column_rows(ci)),
                ]
            )
            + "\n"
        )
    if fmt == "html":
        body = [
            f"<h1>Column impact of {esc(title)}</h1>"
            + "".join(f"<p>{esc(line)}</p>" for line in not_read_lines(ci.consumers_not_read))
            + "<table><tr>"
            + "".join(f"<th>{h}</th>" for h in _COLUMN_HEADERS)
            + "</tr>"
        ]
        body += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in _column_rows(ci)]
        body.append("</table>")
        return _html_page(f"Column impact of {title}", body)
    raise InputError(f"unknown column impact format {fmt!r}; use md, csv, json, html or table")


# ---------------------------------------------------------------- check


def check_text(report: CheckReport) -> str:
    """Findings as lines ``severity rule name: message``, then a count per rule."""

    def clean(v: str) -> str:
        return visible(_one_line(v))

    lines = [f"{f.severity:<7} {f.rule:<20} {clean(f.node)}: {clean(f.message)}" for f in report.findings]
    if report.consumers_not_read is not None:  # older snapshots did not crawl consumers: as before
        lines += [f"note: {line}" for line in not_read_lines(report.consumers_not_read)]
    counts = ", ".join(f"{rule} {n}" for rule, n in report.counts().items() if n)
    lines.append(
        f"{len(report.findings)} finding(s) in {report.nodes} nodes at {report.now}"
        + (f": {counts}" if counts else "")
    )
    return "\n".join(lines) + "\n"


def check_json(report: CheckReport) -> str:
    """Findings as JSON, keys sorted."""
    # finite: a report holds text and counts, no float (Finding's fields are str, CheckReport's int/str)
    return to_json(report.to_dict(), finite=True)


# ---------------------------------------------------------------- diff


def diff_markdown(d: SnapshotDiff) -> str:
    """A snapshot diff as Markdown sections; SQL changes as fenced unified diffs."""
    lines = [f"# Snapshot diff {md_cell(d.old_crawled_at or '?')} → {md_cell(d.new_crawled_at or '?')}", ""]
    if d.is_empty:
        return "\n".join([*lines, "No changes."]) + "\n"
    sections: list[tuple[str, Sequence[str], list[Sequence[Any]]]] = [
        # consumers have sections of their own, below
        (
            "Nodes added",
            ("name", "kind", "id"),
            [(n.name, n.kind, n.id) for n in d.nodes_added if n.kind not in CONSUMER_KINDS],
        ),
        (
            "Nodes removed",
            ("name", "kind", "id"),
            [(n.name, n.kind, n.id) for n in d.nodes_removed if n.kind not in CONSUMER_KINDS],
        ),
        # edges into consumers show as consumers added, removed or re-pointed
        (
            "Edges added",
            ("upstream", "downstream"),
            [(e.source, e.target) for e in d.edges_added if not _consumer_id(e.target_id)],
        ),
        (
            "Edges removed",
            ("upstream", "downstream"),
            [(e.source, e.target) for e in d.edges_removed if not _consumer_id(e.target_id)],
        ),
        ("Renamed", ("old name", "new name", "id"), [(r.old, r.new, r.id) for r in d.renamed]),
        ("Changed", ("name", "field", "old", "new"), [(c.name, c.field, c.old, c.new) for c in d.changes]),
        (
            "Jobs",
            ("view", "what", "old", "new"),
            [(c.name, JOB_FIELDS[c.field], _job_value(c.old), _job_value(c.new)) for c in d.jobs],
        ),
    ]
    sections += [
        (
            "Consumers added",
            ("name", "kind", "id"),
            [(n.name, n.kind, n.id) for n in d.consumers_added],
        ),
        (
            "Consumers removed",
            ("name", "kind", "id"),
            [(n.name, n.kind, n.id) for n in d.consumers_removed],
        ),
        (
            "Consumers re-pointed",
            ("name", "kind", "read", "now reads"),
            [(r.name, r.kind, ", ".join(r.old), ", ".join(r.new)) for r in d.repointed],
        ),
    ]
    for title, headers, rows in sections:
        if rows:
            lines += [f"## {title} ({len(rows)})", "", *_md_table(headers, rows), ""]
    for kind in d.consumers_hidden:
        unseen = sum(1 for n in d.consumers_unseen if n.kind == kind)
        lines += [
            f"{md_cell(plural(kind))}: not visible to the new snapshot's key; its {unseen} "
            f"{md_cell(plural(kind, unseen))} are not counted as removed.",
            "",
        ]
    if d.sql_changed:
        lines += [f"## SQL changed ({len(d.sql_changed)})", ""]
        for s in d.sql_changed:
            lines += [f"### {md_cell(s.name)}", ""]
            if s.changed_by or s.changed_at:
                who = md_cell(s.changed_by or "unknown")
                lines += [f"changed by {who} at {md_cell(s.changed_at or 'unknown time')}", ""]
            lines += [md_code(s.diff).replace("```\n", "```diff\n", 1), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _consumer_id(node_id: str) -> bool:
    """``insight:...``, ``dashboard:...``: consumer ids cannot collide with API ids."""
    return node_id.split(":", 1)[0] in CONSUMER_KINDS and ":" in node_id


def _job_value(value: Any) -> Any:
    """Counts with thousands separators (18,696 rows), flags as yes/no, the rest as read."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def diff_json(d: SnapshotDiff) -> str:
    """A snapshot diff as JSON, keys sorted."""
    return to_json(d.to_dict())
