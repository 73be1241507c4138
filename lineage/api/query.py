"""Typed answers of PostHog's query API (``POST /api/projects/:id/query/``, HogQL over system tables).

The client methods live on :class:`lineage.api.client.AsyncPostHogClient` (``hogql``, ``iter_hogql``);
this module holds what they return and the small checks they need on HogQL text.

>>> r = QueryResult.from_api({"columns": ["n"], "types": [["n", "UInt64"]], "results": [[3]],
...                           "hasMore": False, "limit": 100, "offset": 0})
>>> r.results, r.rows()
([(3,)], [{'n': 3}])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lineage.errors import HogQLError, ProtocolError
from lineage.hogql.lexer import OP, WORD, tokenize

__all__ = ["DEFAULT_HOGQL_PER_HOUR", "MAX_QUERY_LIMIT", "QueryResult", "has_top_level_limit"]

MAX_QUERY_LIMIT: Final = 50000
"""PostHog's largest LIMIT for a HogQL query (``posthog/hogql/constants.py``)."""
DEFAULT_HOGQL_PER_HOUR: Final = 120
"""PostHog's HogQLQuery throttle per personal API key."""


@dataclass(frozen=True)
class QueryResult:
    """One page of a HogQL query: ``results`` rows in ``columns`` order; ``has_more`` when rows remain."""

    columns: tuple[str, ...]
    types: tuple[tuple[str, str], ...]
    results: list[tuple[Any, ...]] = field(hash=False)
    has_more: bool
    limit: int | None
    offset: int | None
    hogql: str | None = None

    @classmethod
    def from_api(cls, body: Any) -> QueryResult:
        """Parse the query API's answer; ProtocolError when it is not that shape."""
        if not isinstance(body, Mapping):
            raise ProtocolError(f"expected a query result object, got {type(body).__name__}")
        columns = body.get("columns")
        results = body.get("results")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ProtocolError("query result has no list of column names in 'columns'")
        if not isinstance(results, list) or not all(isinstance(r, list) for r in results):
            raise ProtocolError("query result has no list of rows in 'results'")
        if any(len(r) != len(columns) for r in results):
            raise ProtocolError(f"query result rows do not all have {len(columns)} values (one per column)")
        raw_types = body.get("types") or []
        types: list[tuple[str, str]] = []
        if isinstance(raw_types, list):
            for item in raw_types:
                if isinstance(item, list | tuple) and len(item) >= 2:
                    types.append((str(item[0]), str(item[1])))
        has_more = body.get("hasMore")
        return cls(
            columns=tuple(columns),
            types=tuple(types),
            results=[tuple(r) for r in results],
            has_more=has_more is True,
            limit=_opt_int(body.get("limit")),
            offset=_opt_int(body.get("offset")),
            hogql=body.get("hogql") if isinstance(body.get("hogql"), str) else None,
        )

    def rows(self) -> list[dict[str, Any]]:
        """The rows as ``{column: value}`` dicts."""
        return list(self.iter_rows())

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """:meth:`rows` one at a time: a page of 50,000 rows as dicts is 30 MB at once."""
        columns = self.columns
        for row in self.results:
            yield dict(zip(columns, row, strict=True))


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def has_top_level_limit(sql: str) -> bool:
    """True when the outermost SELECT of ``sql`` already has LIMIT or OFFSET (subqueries do not count).

    Raises HogQLError when the text cannot even be tokenized.
    """
    depth = 0
    for tok in tokenize(sql):
        if tok.kind == OP and tok.value in "([{":
            depth += 1
        elif tok.kind == OP and tok.value in ")]}":
            depth -= 1
        elif tok.kind == WORD and depth == 0 and tok.value.upper() in ("LIMIT", "OFFSET"):
            return True
    return False


def check_query_text(query: Any) -> str:
    """The HogQL text, or ValueError for something that is not a non-empty string."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"a HogQL query must be a non-empty string, got {query!r:.80}")
    return query


def with_limit(query: str, limit: int, offset: int | None = None) -> str:
    """``query`` with LIMIT (and OFFSET) appended; ValueError if it has its own at the top level.

    The clause goes on a new line so that a trailing ``--`` comment cannot swallow it.
    """
    try:
        own = has_top_level_limit(query)
    except HogQLError as err:
        raise ValueError(f"the HogQL query does not tokenize: {err.message}") from None
    if own:
        raise ValueError(
            "the HogQL query already has a top-level LIMIT or OFFSET; remove it to let the client "
            "page (iter_hogql) or set limit= (hogql)"
        )
    text = f"{query.rstrip()}\nLIMIT {limit}"
    return text if offset is None else f"{text} OFFSET {offset}"


def check_limit(value: Any, what: str) -> int:
    """A whole number from 1 to PostHog's maximum (50000), else ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUERY_LIMIT:
        raise ValueError(f"{what} must be a whole number from 1 to {MAX_QUERY_LIMIT}, got {value!r}")
    return value
