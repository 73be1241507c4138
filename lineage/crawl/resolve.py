"""Reading lineage out of HogQL: a view's FROM targets resolved to node ids the way PostHog resolves
them, and the full names of dotted PostHog tables that the lineage endpoints give by their last label."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lineage.api.models import Table
from lineage.crawl.state import CrawlState, is_uuid
from lineage.errors import HogQLError
from lineage.posthog import POSTHOG_TABLES

__all__ = ["dotted_labels", "full_dotted_name", "parents_from_sql", "tables_by_sql_name"]


def parents_from_sql(state: CrawlState, view_id: str, *, deleted_by_name: Mapping[str, str]) -> list[str]:
    """The view's parents from its SQL; a parse failure is a note and no parents."""
    from lineage.hogql import cache

    sql = state.sql.get(view_id)
    if not sql:
        return []
    try:
        # Parsed once per SQL text, ever (lineage.hogql.cache): a recrawl of 20,000 views parses
        # only the views whose SQL changed.
        chains = cache.shared()(sql)
    except HogQLError as exc:
        name = state.views[view_id].name
        state.notes.append(f"view {name!r}: HogQL not parsed ({exc}); its upstream edges are missing")
        return []
    tables_by_name = _tables_by_name(state)
    out = []
    for chain in chains:
        # PostHog resolves a FROM target as a view by name first, then a warehouse table,
        # then one of its own tables.
        if chain in state.by_name:
            out.append(state.by_name[chain])
        elif chain in tables_by_name:
            out.append(tables_by_name[chain])
        elif chain in deleted_by_name:
            # PostHog's stale paths still name a deleted view by its UUID
            out.append(deleted_by_name[chain])
        else:
            out.append(chain)
    return sorted(set(out))


def tables_by_sql_name(tables: Iterable[Table]) -> dict[str, str]:
    """Warehouse table id by every name SQL may use for it: a sourced table's ``hogql_name``
    (``hubspot.contacts``, what the newest PostHog resolves) and its storage ``name``
    (``hubspot_contacts``, which older SQL and fixtures use). A ``hogql_name`` wins a clash."""
    out: dict[str, str] = {}
    ordered = sorted(tables, key=lambda t: t.id)
    for table in ordered:
        out.setdefault(table.name, table.id)
    for table in ordered:
        if table.hogql_name:
            out[table.hogql_name] = table.id
    return out


_TABLES_INDEX: dict[int, tuple[dict[str, Any] | None, int, dict[str, str]]] = {}


def _tables_by_name(state: CrawlState) -> dict[str, str]:
    """:func:`tables_by_sql_name`, built once per tables dict (it was rebuilt for every view)."""
    tables = state.tables
    held = _TABLES_INDEX.get(id(state))
    if held is None or held[0] is not tables or held[1] != len(tables or {}):
        index = tables_by_sql_name((tables or {}).values())
        _TABLES_INDEX.clear()  # one crawl at a time is the common case; never grows
        _TABLES_INDEX[id(state)] = held = (tables, len(tables or {}), index)
    return held[2]


def dotted_labels(parents: Mapping[str, list[str]]) -> dict[str, str]:
    """Each parent label that may be a dotted table's last part, with one view that reads it."""
    labels: dict[str, str] = {}
    for view_id, ps in sorted(parents.items()):
        for p in ps:
            if not is_uuid(p) and p not in labels and p not in POSTHOG_TABLES:
                labels[p] = view_id
    return labels


def full_dotted_name(sql: str, label: str, by_name: Mapping[str, str]) -> str | None:
    """The one dotted FROM target of ``sql`` that ends in ``label`` (not a view), if exactly one."""
    from lineage.hogql import extract_tables

    try:
        chains = extract_tables(sql)
    except HogQLError:
        return None
    full = [c for c in chains if c.split(".")[-1] == label and c != label and c not in by_name]
    return full[0] if len(full) == 1 else None
