"""column_impact() on a hand-written warehouse of HogQL views with joins, CTEs, subqueries, aliases and *."""

from __future__ import annotations

import networkx as nx
import pytest

from lineage.analysis import column_impact
from lineage.analysis.columns import analyse_view
from lineage.errors import InputError

VIEWS: dict[str, tuple[str | None, list[str]]] = {
    "orders": ("SELECT id, amount, customer_id, status FROM stripe_charge", ["stripe_charge"]),
    # CTE with an arithmetic alias, filtered on the column, grouped on another
    "order_totals": (
        "WITH big AS (SELECT id, amount * 100 AS cents, customer_id FROM orders WHERE amount > 10) "
        "SELECT b.customer_id, sum(b.cents) AS total_cents, count() AS n FROM big AS b "
        "GROUP BY b.customer_id",
        ["orders"],
    ),
    # join on another column; the column itself only renamed
    "customer_orders": (
        "SELECT c.name, o.id AS order_id, o.amount AS order_amount "
        "FROM customers AS c JOIN orders AS o ON o.customer_id = c.id",
        ["customers", "orders"],
    ),
    # SELECT * passes the column through by name
    "everything": ("SELECT * FROM orders", ["orders"]),
    # subquery over a derived column, filtered on it
    "big_spenders": (
        "SELECT customer_id, total "
        "FROM (SELECT customer_id, total_cents / 100 AS total FROM order_totals) AS t "
        "WHERE t.total > 1000",
        ["order_totals"],
    ),
    # grouped by the passed-through column
    "by_amount": (
        "SELECT amount, count() AS c FROM everything GROUP BY amount HAVING count() > 1",
        ["everything"],
    ),
    # joined on two derived columns
    "joined": (
        "SELECT e.id, x.order_amount AS amt FROM everything AS e "
        "JOIN customer_orders AS x ON x.order_amount = e.amount",
        ["everything", "customer_orders"],
    ),
    # reads orders but not the column
    "statuses": ("SELECT status, count() AS n FROM orders GROUP BY status", ["orders"]),
    # set operation: the column arrives by position under another name
    "combined": (
        "SELECT id, amount AS value FROM orders UNION ALL SELECT customer_id, n FROM order_totals",
        ["orders", "order_totals"],
    ),
    # cannot be parsed, and one view that reads it
    "broken": ("SELECT amount FROM orders WHERE (", ["orders"]),
    "after_broken": ("SELECT amount FROM broken", ["broken"]),
    # no SQL in the snapshot
    "no_sql": (None, ["order_totals"]),
    # downstream of a view that does not carry the column
    "status_report": ("SELECT status FROM statuses", ["statuses"]),
}


def warehouse() -> nx.DiGraph:
    g = nx.DiGraph()
    for table in ("stripe_charge", "customers"):
        g.add_node(table, name=table, kind="table")
    for name, (sql, _parents) in VIEWS.items():
        attrs = {"sql": sql} if sql is not None else {}
        g.add_node(f"id-{name}", name=name, kind="view", **attrs)
    for name, (_sql, parents) in VIEWS.items():
        for p in parents:
            g.add_edge(p if p in g else f"id-{p}", f"id-{name}")
    g.nodes["id-orders"]["columns"] = [
        ["id", "Int64"],
        ["amount", "Float64"],
        ["customer_id", "String"],
        ["status", "String"],
    ]
    return g


def test_derived_columns_exact() -> None:
    result = column_impact(warehouse(), "orders", "amount")
    derived = {(d.view, d.column, d.sources) for d in result.derived}
    assert derived == {
        ("order_totals", "total_cents", ("orders.amount",)),
        ("customer_orders", "order_amount", ("orders.amount",)),
        ("everything", "amount", ("orders.amount",)),
        ("combined", "value", ("orders.amount",)),
        ("big_spenders", "total", ("order_totals.total_cents",)),
        ("by_amount", "amount", ("everything.amount",)),
        ("joined", "amt", ("customer_orders.order_amount",)),
    }
    depths = {d.view: d.depth for d in result.derived}
    assert depths["order_totals"] == 1 and depths["big_spenders"] == 2 and depths["joined"] == 2


def test_usages_in_join_where_group_by() -> None:
    result = column_impact(warehouse(), "orders", "amount")
    usages = {(u.view, u.clause, u.column) for u in result.usages}
    assert usages == {
        ("order_totals", "WHERE", "orders.amount"),
        ("big_spenders", "WHERE", "order_totals.total_cents"),
        ("by_amount", "GROUP BY", "everything.amount"),
        ("joined", "JOIN", "customer_orders.order_amount"),
        ("joined", "JOIN", "everything.amount"),
    }


def test_unknown_is_never_safe() -> None:
    result = column_impact(warehouse(), "orders", "amount")
    unknown = {u.view: u.reason for u in result.unknown}
    assert set(unknown) == {"broken", "after_broken", "no_sql"}
    assert "does not parse" in unknown["broken"]
    assert "broken" in unknown["after_broken"]
    assert "no SQL" in unknown["no_sql"]
    assert set(result.unaffected) == {"statuses", "status_report"}
    everything = {d.view for d in result.derived} | {u.view for u in result.usages}
    assert not everything & set(result.unaffected)
    assert not set(unknown) & set(result.unaffected)


def test_other_column_and_results_are_sorted() -> None:
    result = column_impact(warehouse(), "orders", "customer_id")
    derived = {(d.view, d.column) for d in result.derived}
    assert ("order_totals", "customer_id") in derived
    assert ("big_spenders", "customer_id") in derived
    assert ("combined", "id") in derived  # second branch of the UNION, by position
    assert ("customer_orders", "JOIN", "orders.customer_id") in {
        (u.view, u.clause, u.column) for u in result.usages
    }
    assert ("order_totals", "GROUP BY", "orders.customer_id") in {
        (u.view, u.clause, u.column) for u in result.usages
    }
    keys = [(d.depth, d.view, d.column) for d in result.derived]
    assert keys == sorted(keys)
    assert result.to_dict()["target"] == {"id": "id-orders", "name": "orders", "column": "customer_id"}
    assert len(result.to_frame()) == len(result.derived) + len(result.usages) + len(result.unknown)


def test_unknown_column_is_input_error() -> None:
    with pytest.raises(InputError, match="no column 'amout'"):
        column_impact(warehouse(), "orders", "amout")


def test_aliases_reused_in_same_select_and_star_qualified() -> None:
    parents = {"t": {"x": frozenset({"t.x"})}}
    taint, usages, seen = analyse_view("SELECT x * 2 AS y, y + 1 AS z, a.* FROM t AS a WHERE y > 3", parents)
    assert set(taint) == {"x", "y", "z"}
    assert usages == {("WHERE", "t.x")}
    assert seen == {"t"}
    taint, _, _ = analyse_view("SELECT x AS x, other FROM t", parents)
    assert set(taint) == {"x"}


def test_hogql_dollar_identifiers_field_chains_and_dotted_tables() -> None:
    g = nx.DiGraph()
    g.add_node("events", name="events", kind="table")
    g.add_node("s", name="stripe.charge", kind="table")
    g.add_node(
        "v1",
        name="sessions",
        kind="view",
        sql="SELECT e.$session_id AS sid, properties.$browser AS browser, toDate(timestamp) AS day "
        "FROM events AS e WHERE event = '$pageview' GROUP BY sid, browser, day",
    )
    g.add_node("v2", name="charges", kind="view", sql="SELECT * FROM `stripe.charge`")
    g.add_node(
        "v3",
        name="per_session",
        kind="view",
        sql="SELECT s.sid, c.amount FROM sessions AS s JOIN charges AS c ON c.session = s.sid",
    )
    g.add_edges_from([("events", "v1"), ("s", "v2"), ("v1", "v3"), ("v2", "v3")])
    result = column_impact(g, "events", "$session_id")
    assert {(d.view, d.column) for d in result.derived} == {("sessions", "sid"), ("per_session", "sid")}
    assert {(u.view, u.clause, u.column) for u in result.usages} == {
        ("sessions", "GROUP BY", "events.$session_id"),
        ("per_session", "JOIN", "sessions.sid"),
    }
    assert result.unaffected == ()
    dotted = column_impact(g, "stripe.charge", "amount")
    assert {(d.view, d.column) for d in dotted.derived} == {("charges", "amount"), ("per_session", "amount")}
    assert dotted.usages == () and dotted.unknown == ()
    props = column_impact(g, "events", "properties")
    assert {(d.view, d.column) for d in props.derived} == {("sessions", "browser")}
