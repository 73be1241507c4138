"""HogQL parsing: table extraction PostHog would agree with, placeholders, and a sqlglot bridge.

`extract_tables` runs on our own tokenizer and recursive-descent pass, never on sqlglot, so it works
on every HogQL construct (f-strings, HogQLX tags, lambdas, placeholders...). `to_sqlglot` re-emits
the tokens in a form sqlglot's ClickHouse dialect reads, for column-level lineage.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from lineage.errors import HogQLError
from lineage.hogql.lexer import Token, tokenize
from lineage.hogql.parser import Parser
from lineage.hogql.placeholders import placeholder_error, placeholders_in

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "SQL_PARSED",
    "SQL_UNPARSEABLE",
    "extract_tables",
    "find_placeholders",
    "parse_coverage",
    "sql_state",
    "to_sqlglot",
]

#: Node attribute ``sql_state`` values: the crawl marks a view whose HogQL cannot be read.
SQL_PARSED = "parsed"
SQL_UNPARSEABLE = "unparseable"


def _parse(sql: str) -> tuple[list[Token], Parser]:
    tokens = tokenize(sql)
    found = placeholders_in(sql, tokens)
    if found:
        raise placeholder_error(sql, found)
    parser = Parser(sql, tokens)
    try:
        parser.parse_statement()
    except RecursionError:
        raise HogQLError("HogQL query nests too deeply to parse; simplify the view's SQL.") from None
    return tokens, parser


def extract_tables(sql: str) -> list[str]:
    """Sorted unique FROM/JOIN targets of a HogQL query as dotted chains, CTE names excluded.

    Subqueries anywhere (FROM, JOIN, IN, expressions), set operations and CTE bodies are followed;
    table functions and ARRAY JOIN are ignored. Raises HogQLError on text it cannot parse and on
    placeholders (views may not contain them).
    """
    if not isinstance(sql, str):
        raise HogQLError(f"HogQL must be a string, not {type(sql).__name__}.")
    tables, error = _tables_cached(sql)
    if error is not None:
        raise HogQLError(error.message, **error.context)
    return list(tables)


@lru_cache(maxsize=4096)
def _tables_cached(sql: str) -> tuple[tuple[str, ...], HogQLError | None]:
    """One parse per distinct SQL text: a crawl reads each view's tables for edges, ghost names and
    its `sql_state`, and `check` once more."""
    try:
        _, parser = _parse(sql)
    except HogQLError as exc:
        return (), exc
    return tuple(sorted(set(parser.tables))), None


def sql_state(sql: str) -> dict[str, str]:
    """Node attributes saying whether ``sql`` can be read: ``{"sql_state": "parsed"}``, or
    ``{"sql_state": "unparseable", "sql_error": <why>}`` (its tables are then unknown, never none)."""
    try:
        extract_tables(sql)
    except HogQLError as exc:
        return {"sql_state": SQL_UNPARSEABLE, "sql_error": exc.message}
    return {"sql_state": SQL_PARSED}


def find_placeholders(sql: str) -> list[str]:
    """The `{...}` placeholder expressions in order of appearance (e.g. ["filters", "variables.foo"]).

    Braces in strings, comments, f-string text, HogQLX attributes and map literals are not placeholders.
    Raises HogQLError only when the text cannot even be tokenized.
    """
    return [expr for _, expr in placeholders_in(sql, tokenize(sql))]


def to_sqlglot(sql: str) -> exp.Expression:
    """A full sqlglot (ClickHouse dialect) parse of HogQL after a token-level rewrite.

    Identifiers keep their exact names (quoted); each FROM/JOIN table is one identifier named by its
    dotted chain, as `extract_tables` reports it. Raises HogQLError with position and reason.
    """
    from lineage.hogql.bridge import parse_rendered, render_sql

    tokens, parser = _parse(sql)
    rendered, renderer = render_sql(sql, tokens, parser.roles)
    return parse_rendered(sql, rendered, renderer)


def parse_coverage(sqls: Iterable[str]) -> tuple[int, int, list[tuple[int, str]]]:
    """How many of ``sqls`` `to_sqlglot` parses: (parsed, total, [(index, error message)])."""
    parsed = total = 0
    failures: list[tuple[int, str]] = []
    for index, sql in enumerate(sqls):
        total += 1
        try:
            to_sqlglot(sql)
        except HogQLError as e:
            failures.append((index, e.message))
        else:
            parsed += 1
    return parsed, total, failures
