"""``lineage impact VIEW --sql NEW.sql``: the what-if half of ``lineage impact``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lineage.analysis.whatif import VERDICTS, whatif
from lineage.cli.common import emit, settings_from
from lineage.errors import ApiError, FindingsError, InputError
from lineage.graph import LineageGraph
from lineage.whatif_report import render_whatif

__all__ = ["parse_fail_on", "run_whatif"]


def parse_fail_on(text: str) -> frozenset[str]:
    """``breaks`` or a comma list of verdicts (breaks, unknown, changes); InputError otherwise."""
    items = {t.strip() for t in text.split(",") if t.strip()}
    bad = sorted(items - {"breaks", "unknown", "changes"})
    if not items or bad:
        raise InputError(
            f"--fail-on {text!r}: use breaks, unknown or changes (comma-separated), e.g. --fail-on breaks"
        )
    return frozenset(items)


def read_sql(path: str) -> str:
    """The proposed SQL from a file, or standard input for ``-``."""
    if path == "-":
        text = sys.stdin.read()
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(
                f"--sql {path!r}: no such file; give a .sql file or '-' for standard input"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"--sql {path!r} cannot be read ({type(exc).__name__}); give a UTF-8 text file"
            ) from None
    if not text.strip():
        raise InputError(f"--sql {path!r} is empty; give the view's proposed HogQL")
    return text


def _remote_checker(api: dict[str, Any], warnings: list[str]) -> Callable[[str], bool | None] | None:
    """PostHog's check-database-name, when a project and key are configured (else None)."""
    settings = settings_from(dict(api))
    if settings.api_key is None or settings.project is None:
        return None

    def check(name: str) -> bool | None:
        from lineage.api import PostHogClient

        try:
            with PostHogClient(settings, retries=1) as client:
                return client.check_database_name(name).available
        except ApiError as exc:
            warnings.append(
                f"PostHog's check-database-name could not answer for {name!r} ({exc}); "
                "the name was checked against the snapshot only"
            )
            return None

    return check


def run_whatif(
    view: str,
    *,
    snapshot: str,
    fmt: str,
    out: str | None,
    sql_path: str | None,
    sql_from_view: str | None,
    fail_on: str | None,
    column: str | None,
    api: dict[str, Any],
) -> None:
    if sql_path is not None and sql_from_view is not None:
        raise InputError("give either --sql or --sql-from-view, not both")
    if sql_path is None and sql_from_view is None:
        raise InputError("--fail-on needs --sql NEW.sql or --sql-from-view OTHER (a what-if to judge)")
    if column is not None:
        raise InputError("--column and --sql do not combine; a what-if already follows every column")
    wanted = parse_fail_on(fail_on) if fail_on is not None else frozenset()
    graph = LineageGraph.load(snapshot)
    if sql_path is not None:
        new_sql = read_sql(sql_path)
    else:
        assert sql_from_view is not None
        from lineage.analysis.health import resolve_node
        from lineage.graph import as_digraph

        other = resolve_node(graph, sql_from_view)
        sql = as_digraph(graph).nodes[other].get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise InputError(
                f"--sql-from-view {sql_from_view!r} has no SQL in the snapshot; recrawl with --edges sql"
            )
        new_sql = sql
    remote_warnings: list[str] = []
    report = whatif(graph, view, new_sql, check_remote=_remote_checker(api, remote_warnings))
    if remote_warnings:
        from dataclasses import replace

        report = replace(report, warnings=(*report.warnings, *remote_warnings))
    emit(render_whatif(report, fmt), out)
    hits = {v: report.counts.get(v, 0) for v in VERDICTS if v in wanted and report.counts.get(v, 0)}
    if hits:
        said = ", ".join(f"{n} {v}" for v, n in hits.items())
        raise FindingsError(f"what-if on {report.target!r}: {said} downstream (--fail-on {fail_on})")
