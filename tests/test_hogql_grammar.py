"""One test per HogQL grammar feature of issue 12, for table extraction and the sqlglot bridge."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from lineage.errors import HogQLError
from lineage.hogql import extract_tables, to_sqlglot


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        # PostHog's `select` rule takes one optional trailing ';'
        ("SELECT a FROM t;", ["t"]),
        ("SELECT a FROM t GROUP BY GROUPING SETS ((a), (a, b), ())", ["t"]),
        ("SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1", ["t"]),
        ("SELECT a, b FROM t WINDOW w AS (ORDER BY a) QUALIFY a > 1 ORDER BY a", ["t"]),
        ("SELECT 1 FROM t PIVOT (sum(x) FOR y IN ('a', 'b'))", ["t"]),
        ("SELECT 1 FROM t UNPIVOT (v FOR k IN (a, b)) AS u JOIN s ON 1", ["s", "t"]),
        ("SELECT a FROM t ORDER BY a LIMIT 5 WITH TIES", ["t"]),
        ("SELECT a FROM t ORDER BY a LIMIT 5, 10 WITH TIES", ["t"]),
        ("SELECT a FROM t ORDER BY a LIMIT 5 WITH TIES OFFSET 2", ["t"]),
        ("SELECT a, b, FROM t", ["t"]),
        ("SELECT a, b, WHERE a > 1", []),
        ("SELECT a FROM t GROUP BY a, ORDER BY a", ["t"]),
        ("SELECT a FROM t GROUP BY a, LIMIT 3", ["t"]),
        ("(SELECT a FROM t) OFFSET 5", ["t"]),
        ("(SELECT a FROM t) UNION ALL (SELECT a FROM s) ORDER BY a LIMIT 10", ["s", "t"]),
        ("SELECT a FROM t LIMIT 1 BY a LIMIT 10", ["t"]),
        ("SELECT a FROM t WHERE person_id IN COHORT 5 AND b NOT IN COHORT 'Paying'", ["t"]),
        ("SELECT a FROM t WHERE a =~ 'x' OR a !~ 'y' OR a =~* 'z' OR a !~* 'w' OR a ~* 'v'", ["t"]),
        ("SELECT x.1.id.1, t.1.2, a?.1 FROM t", ["t"]),
        ("SELECT arrayJoin(groupArray(x) AS a), sum(y AS z) + z FROM t", ["t"]),
        ("SELECT any(x) IGNORE NULLS FROM t", ["t"]),
        ("SELECT 1 b, a `c` FROM t", ["t"]),
        ("SELECT * EXCLUDE (a, b), t.* REPLACE (x + 1 AS x) FROM t", ["t"]),
        ("SELECT * EXCEPT (a) FROM t EXCEPT SELECT * FROM s", ["s", "t"]),
        ("SELECT <Sparkline data={[a, b]} /> FROM t", ["t"]),
        (
            "SELECT e FROM <HogQLQuery query='SELECT e FROM events JOIN persons ON 1' />",
            ["events", "persons"],
        ),
    ],
)
def test_grammar_feature_tables(sql: str, tables: list[str]) -> None:
    assert extract_tables(sql) == tables


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        # test_resolver.py test_ctes_with_union_all: a CTE of the first member serves the third
        (
            "WITH c1 AS (SELECT 1 AS a FROM base) SELECT 1 AS a UNION ALL "
            "WITH c2 AS (SELECT 2 AS a) SELECT * FROM c2 UNION ALL SELECT * FROM c1",
            ["base"],
        ),
        (
            "WITH c AS (SELECT 1 FROM base) SELECT * FROM (SELECT * FROM c UNION ALL SELECT * FROM c)",
            ["base"],
        ),
        ("WITH c AS (SELECT 1 FROM base) SELECT * FROM x WHERE y IN (SELECT z FROM c)", ["base", "x"]),
        ("WITH c AS (SELECT 1 FROM base), SELECT * FROM c", ["base"]),
        # a CTE never leaks out of the subquery that defines it
        (
            "SELECT * FROM (WITH c AS (SELECT 1 FROM base) SELECT * FROM c) UNION ALL SELECT * FROM c",
            ["base", "c"],
        ),
    ],
)
def test_cte_scoping_across_set_members(sql: str, tables: list[str]) -> None:
    assert extract_tables(sql) == tables


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM <ActorsQuery />",
        "SELECT * FROM <OuterQuery><HogQLQuery query='SELECT 1 FROM events' /></OuterQuery>",
        "<ActorsQuery select={['id']} />",
        "SELECT * FROM <HogQLQuery query='SELECT * FROM' />",
    ],
)
def test_tags_as_tables_are_unparseable_never_empty(sql: str) -> None:
    with pytest.raises(HogQLError) as info:
        extract_tables(sql)
    assert "HogQLQuery" in str(info.value) or "unparseable" in str(info.value)


def test_more_than_one_statement_is_refused() -> None:
    with pytest.raises(HogQLError, match="only one statement"):
        extract_tables("SELECT 1; SELECT 2")


def _sql(hogql: str) -> str:
    return to_sqlglot(hogql).sql("clickhouse")


def test_bridge_in_cohort_becomes_in_list() -> None:
    sql = _sql("SELECT a FROM t WHERE person_id IN COHORT 5")
    assert "IN (5)" in sql and "COHORT" not in sql.upper()


def test_bridge_regex_operators_become_match() -> None:
    tree = to_sqlglot("SELECT a FROM t WHERE a =~ 'x' AND b !~* 'y'")
    assert tree.sql("clickhouse").count("match(") == 2
    assert {c.name for c in tree.find_all(exp.Column)} == {"a", "b"}


def test_bridge_tuple_chains_keep_the_base_column() -> None:
    tree = to_sqlglot("SELECT x.1.id.1 AS v, t.1.2 AS w FROM src")
    assert {c.name for c in tree.find_all(exp.Column)} >= {"x", "t"}


def test_bridge_alias_inside_function_args() -> None:
    tree = to_sqlglot("SELECT sum(y AS z) AS s FROM t")
    assert isinstance(tree, exp.Select)
    assert [s.alias_or_name for s in tree.selects] == ["s"]


def test_bridge_limit_by_then_limit() -> None:
    sql = _sql("SELECT a FROM t LIMIT 1 BY a LIMIT 10")
    assert sql.endswith("LIMIT 10") and sql.count("LIMIT") == 1


def test_bridge_tags_in_expressions_keep_their_columns() -> None:
    tree = to_sqlglot("SELECT <a href='x'>{event}</a> AS link FROM events")
    assert "event" in {c.name for c in tree.find_all(exp.Column)}


def test_bridge_hogqlquery_tag_table_is_a_subquery() -> None:
    tree = to_sqlglot("SELECT event FROM <HogQLQuery query='SELECT event FROM events' />")
    assert [t.name for t in tree.find_all(exp.Table)] == ["events"]


def test_bridge_trailing_semicolon_and_with_ties() -> None:
    assert _sql("SELECT a FROM t ORDER BY a LIMIT 5, 10 WITH TIES;").startswith("SELECT")


def test_bridge_star_modifiers() -> None:
    assert "EXCEPT (" in _sql("SELECT * EXCEPT (a) FROM t")


def test_bridge_grouping_sets_and_qualify() -> None:
    sql = _sql("SELECT a, count() AS n FROM t GROUP BY GROUPING SETS ((a), ()) QUALIFY n > 1")
    assert "GROUPING SETS" in sql and "QUALIFY" in sql


@st.composite
def cte_queries(draw: st.DrawFn) -> tuple[str, set[str]]:
    """A query whose CTEs are read from every position PostHog scopes them to, and its real tables."""
    n_ctes = draw(st.integers(min_value=1, max_value=4))
    ctes = [f"cte_{i}" for i in range(n_ctes)]
    tables: set[str] = set()
    defs = []
    for i, name in enumerate(ctes):
        src = draw(st.sampled_from([f"tab_{j}" for j in range(4)] + ctes[:i]))
        if src.startswith("tab_"):
            tables.add(src)
        defs.append(f"{name} AS (SELECT * FROM {src})")  # noqa: S608

    def ref() -> str:
        r = draw(st.sampled_from([*ctes, "tab_9"]))
        if r == "tab_9":
            tables.add(r)
        return r

    members = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        shape = draw(st.sampled_from(["plain", "sub", "in", "join", "scalar"]))
        if shape == "plain":
            members.append(f"SELECT a FROM {ref()}")  # noqa: S608
        elif shape == "sub":
            members.append(f"SELECT a FROM (SELECT a FROM (SELECT a FROM {ref()}))")  # noqa: S608
        elif shape == "in":
            members.append(f"SELECT a FROM {ref()} WHERE a IN (SELECT a FROM {ref()})")  # noqa: S608
        elif shape == "join":
            members.append(f"SELECT x.a FROM {ref()} AS x JOIN {ref()} AS y ON x.a = y.a")  # noqa: S608
        else:
            members.append(f"SELECT (SELECT max(a) FROM {ref()}) AS m")  # noqa: S608
    return f"WITH {', '.join(defs)} " + " UNION ALL ".join(members), tables


@settings(max_examples=150, deadline=None)
@given(cte_queries())
def test_no_cte_ever_becomes_an_edge(case: tuple[str, set[str]]) -> None:
    sql, tables = case
    assert extract_tables(sql) == sorted(tables)
    assert {t.name for t in to_sqlglot(sql).find_all(exp.Table)} >= tables
