"""lineage.hogql: table extraction, placeholders, error behaviour, and the sqlglot bridge."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from lineage.devdata import real_graphs_dir
from lineage.errors import HogQLError, InputError
from lineage.hogql import extract_tables, find_placeholders, parse_coverage, to_sqlglot

REAL = real_graphs_dir() / "posthog_revenue_analytics.json"


def _real_views() -> list[tuple[str, str, set[str]]]:
    data = json.loads(REAL.read_text())
    parents: dict[str, set[str]] = defaultdict(set)
    for up, down in data["edges"]:
        parents[down].add(up)
    return [(n["name"], n["sql"], parents[n["name"]]) for n in data["nodes"] if "sql" in n]


REAL_VIEWS = _real_views()

# One case per construct of posthog-api-2.md section 4 (and the clauses the brief lists).
CONSTRUCTS = [
    ("plain", "SELECT a FROM events", ["events"]),
    ("dotted chain", "SELECT a FROM a.b.c", ["a.b.c"]),
    ("backticked dotted name", "SELECT x FROM `stripe.stripe_test.x` AS s", ["stripe.stripe_test.x"]),
    ("backtick part of chain", "SELECT x FROM posthog.`ai events`", ["posthog.ai events"]),
    ("double-quoted ident with escape", 'SELECT x FROM "we""ird"', ['we"ird']),
    ("backtick doubled escape", "SELECT x FROM `we``ird`", ["we`ird"]),
    ("dollar identifiers", "SELECT $browser, properties.$os, $session_id FROM events", ["events"]),
    ("implicit alias", "SELECT e.x FROM events e JOIN persons p ON e.pid = p.id", ["events", "persons"]),
    ("keyword alias after AS", "SELECT outer.id FROM t AS outer LEFT JOIN u AS union ON 1", ["t", "u"]),
    ("keyword columns", "SELECT date, key, id, timestamp, first, select.x FROM t", ["t"]),
    ("action is not a keyword", "SELECT action.id FROM t AS action", ["t"]),
    ("comments", "SELECT 1 -- FROM a\n// FROM b\n/* FROM c */ FROM d", ["d"]),
    ("strings with escapes", "SELECT 'FROM x \\' FROM y', 'it''s' FROM z", ["z"]),
    ("f-string", "SELECT f'hello {name} FROM x' FROM t", ["t"]),
    ("f-string with subquery", "SELECT f'{(SELECT max(a) FROM m)}' FROM t", ["m", "t"]),
    ("hogqlx tag", "SELECT <Sparkline data={[1, 2]} type='line' /> FROM t", ["t"]),
    ("hogqlx tag with children", "SELECT <Box><Text>{x}</Text></Box> FROM t", ["t"]),
    ("lambda", "SELECT arrayMap(x -> x * 2, arr), arrayFilter((a, b) -> a > b, l, r) FROM t", ["t"]),
    ("zero-arg lambda", "SELECT () -> 1 FROM t", ["t"]),
    ("parametric call", "SELECT quantile(0.9)(x), count(DISTINCT y) FROM t", ["t"]),
    ("index access", "SELECT x['k'], properties['a']['b'] FROM t", ["t"]),
    ("optional chain", "SELECT x?.y, x?.['k'] FROM t", ["t"]),
    ("nullish coalesce", "SELECT a ?? b ?? 'c' FROM t", ["t"]),
    ("ternary", "SELECT a ? b : c ? d : e FROM t", ["t"]),
    ("tuple access", "SELECT t.1, (1, 2).2 FROM t", ["t"]),
    ("interval literal", "SELECT now() - INTERVAL 7 DAY, INTERVAL '1 hour' FROM t", ["t"]),
    ("map and array literals", "SELECT {'a': 1, 'b': [1, 2]}, [], {} FROM t", ["t"]),
    ("function-form operators", "SELECT 1 FROM t WHERE and(equals(a, 1), in(b, (1, 2)), not(c))", ["t"]),
    ("operators", "SELECT a == b, a <> b, a =~ 'x', a !~* 'y', a || b, a NOT ILIKE 'z' FROM t", ["t"]),
    ("in cohort", "SELECT 1 FROM events WHERE person_id IN COHORT 5 AND x NOT IN (1, 2)", ["events"]),
    ("case", "SELECT CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END, CASE x WHEN 1 THEN 2 END FROM t", ["t"]),
    ("cast", "SELECT CAST(x AS Nullable(String)), x::Int64 FROM t", ["t"]),
    (
        "window function",
        "SELECT sum(x) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND "
        "CURRENT ROW) FROM t",
        ["t"],
    ),
    ("extract and trim", "SELECT extract(DAY FROM ts), trim(BOTH ' ' FROM s) FROM t", ["t"]),
    ("is null", "SELECT 1 FROM t WHERE a IS NOT NULL AND b IS NULL", ["t"]),
    ("between", "SELECT 1 FROM t WHERE a BETWEEN 1 AND 2 AND b NOT BETWEEN 3 AND 4", ["t"]),
    ("table function ignored", "SELECT number FROM numbers(10)", []),
    ("s3 table function ignored", "SELECT * FROM s3('https://x/y.csv', 'CSVWithNames') JOIN t ON 1", ["t"]),
    ("array join ignored", "SELECT a FROM t ARRAY JOIN arr AS a LEFT ARRAY JOIN b AS c", ["t"]),
    ("prewhere sample final", "SELECT 1 FROM t FINAL SAMPLE 1/10 OFFSET 1/2 PREWHERE a WHERE b", ["t"]),
    ("settings", "SELECT 1 FROM t SETTINGS max_threads = 1, x = 'y'", ["t"]),
    ("limit by / with ties", "SELECT a FROM t ORDER BY a LIMIT 1 BY b LIMIT 5 WITH TIES", ["t"]),
    ("limit offset / offset alone", "SELECT a FROM t LIMIT 10 OFFSET 5", ["t"]),
    ("offset alone", "SELECT a FROM t OFFSET 5", ["t"]),
    ("top", "SELECT TOP 5 a FROM t", ["t"]),
    (
        "group by modifiers",
        "SELECT a, count() FROM t GROUP BY a WITH ROLLUP WITH TOTALS HAVING count() > 1",
        ["t"],
    ),
    ("order by nulls", "SELECT a FROM t ORDER BY a DESC NULLS LAST, b ASC", ["t"]),
    (
        "join kinds",
        "SELECT 1 FROM a, f GLOBAL ANY LEFT OUTER JOIN b USING (id) CROSS JOIN c ASOF JOIN d ON 1 "
        "FULL JOIN e ON 1",
        ["a", "b", "c", "d", "e", "f"],
    ),
    # HogQL's ON takes an expression list, so a comma after ON continues it (not a comma join)
    ("on takes a list", "SELECT 1 FROM a JOIN b ON a.x = b.x, a.y = b.y", ["a", "b"]),
    ("parenthesised join", "SELECT 1 FROM (a JOIN b ON a.x = b.x)", ["a", "b"]),
    ("no from", "SELECT 1, 'FROM t'", []),
    ("distinct on", "SELECT DISTINCT ON (a) a FROM t", ["t"]),
    ("column alias string", "SELECT a AS 'my col' FROM t", ["t"]),
    ("trailing comma", "SELECT a, b, FROM t", ["t"]),
    (
        "subquery in where",
        "SELECT 1 FROM t WHERE x IN (SELECT y FROM u WHERE z IN (SELECT z FROM v))",
        ["t", "u", "v"],
    ),
    (
        "subquery in select",
        "SELECT (SELECT max(a) FROM m) AS mx, exists(SELECT 1 FROM n) FROM t",
        ["m", "n", "t"],
    ),
    ("subquery in function form in", "SELECT 1 FROM t WHERE in(x, (SELECT y FROM u))", ["t", "u"]),
    ("join subquery", "SELECT 1 FROM t LEFT JOIN (SELECT id FROM u) AS s ON s.id = t.id", ["t", "u"]),
    ("subquery without alias", "SELECT x FROM (SELECT x FROM (SELECT x FROM deep))", ["deep"]),
    (
        "union all / distinct",
        "SELECT a FROM x UNION ALL SELECT a FROM y UNION DISTINCT SELECT a FROM z",
        ["x", "y", "z"],
    ),
    (
        "intersect / except",
        "SELECT a FROM x INTERSECT SELECT a FROM y EXCEPT SELECT a FROM z",
        ["x", "y", "z"],
    ),
    ("parenthesised union", "(SELECT a FROM x) UNION ALL (SELECT a FROM y)", ["x", "y"]),
    ("union in from", "SELECT * FROM ((SELECT a FROM x) UNION ALL (SELECT a FROM y)) AS u", ["x", "y"]),
    ("paren expression starting with subquery", "SELECT ((SELECT 1 FROM x) + 1) FROM t", ["t", "x"]),
    (
        "HogQLQuery tag as table reads its query",
        "SELECT event FROM <HogQLQuery query='SELECT event FROM events' />",
        ["events"],
    ),
    ("less-than is not a tag", "SELECT 1 FROM t WHERE a<b AND c <d", ["t"]),
    ("duplicates collapsed and sorted", "SELECT 1 FROM z JOIN a ON 1 JOIN z ON 1", ["a", "z"]),
    ("with ties inside top", "SELECT TOP 3 WITH TIES a FROM t ORDER BY a", ["t"]),
]


@pytest.mark.parametrize(
    ("sql", "expected"), [(s, e) for _, s, e in CONSTRUCTS], ids=[c[0] for c in CONSTRUCTS]
)
def test_construct(sql: str, expected: list[str]) -> None:
    assert extract_tables(sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("WITH c AS (SELECT a FROM base) SELECT a FROM c", ["base"]),
        (
            "WITH c AS (SELECT 1 FROM base), d AS (SELECT 1 FROM c) SELECT 1 FROM d JOIN other ON 1",
            ["base", "other"],
        ),
        # a CTE does not shadow a table of the same name inside its own definition
        ("WITH t AS (SELECT 1 FROM t) SELECT 1 FROM t", ["t"]),
        # the CTE is visible in nested subqueries of the query that defines it ...
        ("WITH c AS (SELECT 1 FROM base) SELECT 1 FROM (SELECT 1 FROM c)", ["base"]),
        # ... and in later members of its UNION (issue 12: never a false edge), but not outside a
        # subquery that defines it
        ("WITH c AS (SELECT 1 FROM base) SELECT 1 FROM c UNION ALL SELECT 1 FROM c", ["base"]),
        ("SELECT 1 FROM (WITH c AS (SELECT 1 FROM base) SELECT 1 FROM c) JOIN c ON 1", ["base", "c"]),
        # a column CTE (ClickHouse form) with a scalar subquery
        ("WITH (SELECT max(x) FROM m) AS mx SELECT mx FROM t", ["m", "t"]),
        ("WITH 5 AS five SELECT five FROM t", ["t"]),
        ("WITH `my cte` AS (SELECT 1 FROM base) SELECT 1 FROM `my cte`", ["base"]),
    ],
)
def test_cte_scoping(sql: str, expected: list[str]) -> None:
    assert extract_tables(sql) == expected


def test_deeply_nested_subqueries() -> None:
    sql = "SELECT 1 FROM t0"
    for i in range(1, 12):
        sql = f"SELECT 1 FROM ({sql}) AS s{i} JOIN t{i} ON 1"  # noqa: S608
    assert extract_tables(sql) == sorted(f"t{i}" for i in range(12))


def test_too_deep_nesting_is_a_hogql_error() -> None:
    with pytest.raises(HogQLError, match="nest"):
        extract_tables("SELECT " + "(" * 500 + "1" + ")" * 500)


# -- placeholders --------------------------------------------------------------------------------


def test_find_placeholders_in_order() -> None:
    sql = "SELECT {variables.foo}, x FROM t WHERE {filters} AND y = { filters.dateRange.from }"
    assert find_placeholders(sql) == ["variables.foo", "filters", "filters.dateRange.from"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '{filters}' FROM t",
        "SELECT 1 FROM t -- {filters}",
        "SELECT 1 FROM t /* {filters} */",
        "SELECT f'text \\{x\\}' FROM t",
        "SELECT {'a': 1}, {} FROM t",
        "SELECT `{col}` FROM t",
        "SELECT <Sparkline data={[1]} /> FROM t",
        "SELECT f'{name}' FROM t",
    ],
)
def test_braces_that_are_not_placeholders(sql: str) -> None:
    assert find_placeholders(sql) == []
    extract_tables(sql)  # and the view is accepted


def test_placeholder_inside_fstring_and_dict_found() -> None:
    assert find_placeholders("SELECT f'{ {filters} }', {'k': {variables.x}} FROM t") == [
        "filters",
        "variables.x",
    ]
    assert find_placeholders("SELECT {a ? b : c} FROM t") == ["a ? b : c"]


def test_placeholders_rejected_in_views() -> None:
    with pytest.raises(HogQLError, match=r"Filters and placeholder expressions are not allowed in views"):
        extract_tables("SELECT * FROM events WHERE {filters}")
    with pytest.raises(HogQLError, match=r"Variables like \{variables.foo\} are not allowed in views"):
        extract_tables("SELECT * FROM events WHERE x = {variables.foo}")
    with pytest.raises(HogQLError, match="placeholder"):
        extract_tables("SELECT * FROM {table}")
    with pytest.raises(HogQLError, match="placeholder"):
        to_sqlglot("SELECT {1 + 2}")


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("", "empty"),
        ("   -- nothing\n", "empty"),
        ("SELECT 'unterminated FROM t", "unterminated string"),
        ("SELECT `oops FROM t", "unterminated quoted identifier"),
        ("SELECT 1 /* never closed", "unterminated /* comment"),
        ("SELECT a FROM", "expected a table name"),
        ("SELECT a FROM t WHERE", "expected an expression"),
        ("SELECT (a FROM t", "expected ')'"),
        ("SELECT a FROM t; SELECT 1", "only one statement"),
        ("DELETE FROM t", "expected SELECT"),
        ("SELECT a FROM t )", "unexpected"),
        ("SELECT a FROM t JOIN", "expected a table name"),
        ("SELECT try FROM t", "quote it with backticks"),
        ("SELECT a ? b FROM t", "'?' without a matching ':'"),
        ("SELECT 1 FROM t WHERE }", "'}' without a matching '{'"),
        ("SELECT # FROM t", "unexpected character"),
    ],
)
def test_errors_are_hogql_errors_with_position(sql: str, fragment: str) -> None:
    with pytest.raises(HogQLError) as info:
        extract_tables(sql)
    message = str(info.value)
    assert fragment in message
    if sql.strip():
        assert "line " in message and "column " in message
        assert info.value.context["position"] >= 0
    assert isinstance(info.value, InputError)


def test_error_position_points_at_the_problem() -> None:
    with pytest.raises(HogQLError) as info:
        extract_tables("SELECT a\nFROM t\nWHERE x = = 1")
    assert info.value.context["line"] == 3
    assert info.value.context["column"] == 11


_REAL_SQL = [sql for _, sql, _ in REAL_VIEWS]
_ALPHABET = st.sampled_from(list("SELECTFROMWHEREJOINselect (){}[]'\"`.,;:?<>/=*-+|!~$\\\n\t 0123abcfxy_@#"))


def _only_list_or_hogql_error(sql: str) -> None:
    try:
        result = extract_tables(sql)
    except HogQLError as e:
        assert str(e)
        return
    assert isinstance(result, list)
    assert all(isinstance(x, str) for x in result)
    assert result == sorted(set(result))


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=80) | st.text(max_size=40))
def test_random_text_never_raises_other_errors(sql: str) -> None:
    _only_list_or_hogql_error(sql)
    with contextlib.suppress(HogQLError):
        find_placeholders(sql)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_REAL_SQL), st.integers(min_value=0), st.integers(min_value=0))
def test_truncated_and_spliced_real_views(sql: str, cut: int, cut2: int) -> None:
    a = cut % (len(sql) + 1)
    b = cut2 % (len(sql) + 1)
    _only_list_or_hogql_error(sql[:a])
    _only_list_or_hogql_error(sql[:a] + sql[b:])
    with contextlib.suppress(HogQLError):
        to_sqlglot(sql[:a])


# -- the real PostHog views ----------------------------------------------------------------------


def test_real_data_has_21_views() -> None:
    assert len(REAL_VIEWS) == 21


@pytest.mark.parametrize(("name", "sql", "parents"), REAL_VIEWS, ids=[v[0] for v in REAL_VIEWS])
def test_real_view_tables_match_graph_edges(name: str, sql: str, parents: set[str]) -> None:
    assert extract_tables(sql) == sorted(parents)


@pytest.mark.parametrize(("name", "sql", "parents"), REAL_VIEWS, ids=[v[0] for v in REAL_VIEWS])
def test_real_view_parses_with_sqlglot(name: str, sql: str, parents: set[str]) -> None:
    tree = to_sqlglot(sql)
    assert isinstance(tree, exp.Query)
    # sqlglot table names are the dotted chains; CTE-free views read exactly their parents
    assert {t.name for t in tree.find_all(exp.Table)} == parents


def test_parse_coverage_counts_failures() -> None:
    parsed, total, failures = parse_coverage([*_REAL_SQL, "SELECT a FROM t )", "SELECT {filters}"])
    assert (parsed, total) == (21, 23)
    assert [i for i, _ in failures] == [21, 22]
    assert all(msg for _, msg in failures)


# -- the sqlglot bridge --------------------------------------------------------------------------


def test_to_sqlglot_keeps_identifier_names() -> None:
    tree = to_sqlglot(
        "SELECT $session_id, properties.$browser AS browser, outer.id FROM a.b.`c d` AS outer "
        "WHERE in(event, ['x']) AND equals(a, 1)"
    )
    assert [t.name for t in tree.find_all(exp.Table)] == ["a.b.c d"]
    columns = {c.name for c in tree.find_all(exp.Column)}
    assert {"$session_id", "$browser", "id", "event", "a"} <= columns
    assert tree.find(exp.TableAlias) is not None
    assert "outer" in {a.name for a in tree.find_all(exp.TableAlias)}


def test_to_sqlglot_rewrites_hogql_only_syntax() -> None:
    tree = to_sqlglot("SELECT f'a{x}b', y?.z, a == b, n ?? 0 FROM t")
    sql = tree.sql("clickhouse")
    assert "CONCAT" in sql.upper() and "?" not in sql


def test_to_sqlglot_error_maps_to_original_position() -> None:
    with pytest.raises(HogQLError) as info:
        to_sqlglot("SELECT TOP 3 a FROM t")  # HogQL reads TOP; sqlglot's ClickHouse dialect does not
    assert "sqlglot" in str(info.value)
    assert info.value.context["column"] == 12


def test_to_sqlglot_cast_types_stay_types() -> None:
    tree = to_sqlglot("SELECT CAST(x AS Nullable(String)) AS y, z::DateTime64(3, 'UTC') FROM t")
    casts = list(tree.find_all(exp.Cast))
    assert len(casts) == 2
    assert {c.this.name for c in casts} == {"x", "z"}
    assert [a.alias for a in tree.find_all(exp.Alias)] == ["y"]


def test_to_sqlglot_keeps_cte_and_union_structure() -> None:
    tree = to_sqlglot("WITH c AS (SELECT a FROM base) SELECT a FROM c UNION ALL SELECT a FROM other")
    assert isinstance(tree, exp.Union)
    assert sorted(t.name for t in tree.find_all(exp.Table)) == ["base", "c", "other"]


def test_to_sqlglot_failure_is_hogql_error_at_original_position() -> None:
    # sqlglot has no TOP; the error must point into the HogQL text, not the rewritten SQL
    sql = "SELECT\n  TOP 5 a FROM t"
    with pytest.raises(HogQLError) as info:
        to_sqlglot(sql)
    assert "sqlglot" in str(info.value)
    assert info.value.context["line"] == 2
