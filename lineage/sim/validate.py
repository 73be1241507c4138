"""PostHog's serializer rules for what a client writes: view names, queries, column types, cadences.

Pure checks on request bodies, raising :mod:`lineage.sim.errors` answers worded as PostHog words
them; whether a name is free or a table exists is the warehouse's (:mod:`lineage.sim.state`) to say.
"""

from __future__ import annotations

import re
from typing import Any, Final

from lineage.errors import HogQLError
from lineage.hogql import extract_tables, find_placeholders
from lineage.posthog import (
    SOURCE_ONLY_SYNC_FREQUENCIES,
    VIEW_NAME_MAX_LENGTH,
    VIEW_NAME_RE,
    VIEW_SYNC_FREQUENCIES,
)
from lineage.sim.errors import SimError, invalid, server_error

__all__ = [
    "column_types",
    "extract_parent_names",
    "hogql_type",
    "not_a_dict",
    "placeholder_texts",
    "query_text",
    "search_terms",
    "sync_write",
    "too_long",
    "view_name",
]

_QUERY_EXAMPLE: Final = (
    '{"kind": "HogQLQuery", "query": '
    '"SELECT * FROM events WHERE timestamp >= now() - INTERVAL 7 DAY LIMIT 100"}'
)
_SYNC_WRITE: Final = ("never", *VIEW_SYNC_FREQUENCIES)
_CH_TO_HOGQL: Final = {
    "String": "string",
    "FixedString": "string",
    "UUID": "string",
    "Bool": "boolean",
    "Boolean": "boolean",
    "Date": "date",
    "Date32": "date",
    "DateTime": "datetime",
    "DateTime64": "datetime",
    "Float32": "float",
    "Float64": "float",
    "Decimal": "float",
    "Array": "array",
    "Map": "json",
    "JSON": "json",
    "Tuple": "array",
}


def _clean_ch_type(raw: str) -> str:
    text = raw.strip()
    for wrapper in ("Nullable(", "LowCardinality("):
        while text.startswith(wrapper) and text.endswith(")"):
            text = text[len(wrapper) : -1].strip()
    return text.split("(", 1)[0].strip()


def hogql_type(ch_type: str) -> str | None:
    """The HogQL type of a ClickHouse column type (``Nullable(Int64)`` -> ``integer``); None if unknown."""
    base = _clean_ch_type(ch_type)
    if base in _CH_TO_HOGQL:
        return _CH_TO_HOGQL[base]
    if re.fullmatch(r"U?Int(8|16|32|64|128|256)", base):
        return "integer"
    return None


def extract_parent_names(sql: str) -> list[str]:
    """FROM/JOIN targets of ``sql``: sorted, unique, dotted (:func:`lineage.hogql.extract_tables`)."""
    return extract_tables(sql)


def placeholder_texts(sql: str) -> list[str]:
    """The text inside every ``{...}`` placeholder, trimmed (:func:`lineage.hogql.find_placeholders`)."""
    return [text.strip() for text in find_placeholders(sql)]


# Django's smart_split: runs of non-space text, where a quoted part keeps its spaces.
_SMART_SPLIT_RE = re.compile(
    r"""((?:[^\s'"]*(?:(?:"(?:[^"\\]|\\.)*" | '(?:[^'\\]|\\.)*')[^\s'"]*)+) | \S+)""", re.VERBOSE
)


def search_terms(search: str | None) -> list[str]:
    """DRF's ``SearchFilter`` terms (``search_smart_split``), each later matched with ``icontains``.

    Whitespace separates terms, a term wholly in quotes is kept as one phrase (quotes removed),
    any other term is split again on commas; NUL characters are dropped first.
    """
    text = (search or "").replace("\x00", "")
    out: list[str] = []
    for match in _SMART_SPLIT_RE.finditer(text):
        term = match.group(0).strip(",")
        if len(term) >= 2 and term[0] in "\"'" and term[0] == term[-1]:
            quote = term[0]
            out.append(term[1:-1].replace("\\" + quote, quote).replace("\\\\", "\\"))
            continue
        out.extend(part.strip() for part in term.split(",") if part)
    return [t for t in out if t]


_FIELD_RE = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")


def view_name(raw: Any) -> str:
    """A view name as PostHog's serializer cleans and checks it (whether it is free is the caller's)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise invalid("Not a valid string.", "name")
    # DRF's CharField trims surrounding whitespace before any validator sees the name
    name = str(raw).strip()
    if name == "":
        raise invalid("This field may not be blank.", "name", code="blank")
    if len(name) > VIEW_NAME_MAX_LENGTH:
        raise too_long("name", VIEW_NAME_MAX_LENGTH)
    if not VIEW_NAME_RE.match(name):
        raise invalid(
            f"{name} is not a valid view name. View names can only contain letters, numbers, '_', '.', "
            "or '$'. They must start with a letter, '_' or '$'.",
            "name",
            code="invalid_character",
        )
    return name


def query_text(raw: Any) -> tuple[str, list[str]]:
    """A view's ``query`` object checked as PostHog does: (its SQL, the table names it reads)."""
    if not isinstance(raw, dict):
        raise invalid(
            f'Query must be a JSON object with a "query" key, got {type(raw).__name__}. Example: '
            + _QUERY_EXAMPLE,
            "query",
        )
    sql = raw.get("query")
    if not isinstance(sql, str) or not sql.strip():
        raise invalid('Query object must contain a non-empty "query" key with the SQL string.', "query")
    try:
        holders = placeholder_texts(sql)
    except HogQLError as err:
        raise invalid(f"Invalid query: {err}", "query") from None
    fields = [h for h in holders if _FIELD_RE.match(h) and h.split(".")[0] != "filters"]
    if fields:
        raise invalid(f"Variables like {{{fields[0]}}} are not allowed in views", "query")
    if holders:
        raise invalid("Filters and placeholder expressions are not allowed in views", "query")
    try:
        names = extract_parent_names(sql)
    except HogQLError as err:
        raise invalid(f"Invalid query: {err}", "query") from None
    return sql, names


def column_types(raw: Any) -> list[tuple[str, str]] | None:
    """A body's ``types`` (ClickHouse ``[name, type]`` pairs) as HogQL column types; None when absent."""
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise invalid("Failed to retrieve types for view")
    out = []
    for item in raw:
        if not isinstance(item, list | tuple) or len(item) < 2:
            raise invalid("Failed to retrieve types for view")
        hog = hogql_type(str(item[1]))
        if hog is None:
            raise invalid("Failed to retrieve types for view")
        out.append((str(item[0]), hog))
    return out


def sync_write(raw: Any) -> str | None:
    """A written ``sync_frequency`` as PostHog stores it (1min/5min become 15min)."""
    if raw is None:
        return None
    if isinstance(raw, list | dict):
        # SyncFrequencyField tests ``data in {"1min", "5min"}``: unhashable -> TypeError -> 500
        raise server_error()
    value = "15min" if raw in SOURCE_ONLY_SYNC_FREQUENCIES else raw
    if not isinstance(value, str) or value not in _SYNC_WRITE:
        raise invalid(f'"{raw}" is not a valid choice.', "sync_frequency", code="invalid_choice")
    return value


def too_long(field: str, limit: int) -> SimError:
    """DRF's max_length answer."""
    return invalid(f"Ensure this field has no more than {limit} characters.", field, code="max_length")


def not_a_dict(body: Any) -> SimError:
    """DRF's answer to a body that is not a JSON object."""
    return invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
