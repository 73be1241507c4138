"""Fixtures from the real graphs (lineage.sim.generate) and the bundled demo warehouse (lineage.sim.demo)."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.devdata import real_graphs_dir
from lineage.errors import FixtureError, SnapshotError
from lineage.hogql import extract_tables
from lineage.sim import demo
from lineage.sim.generate import (
    FORMAT,
    HOGQL_RESERVED,
    MAX_NAME,
    NAME_RE,
    NOW,
    SYNC_SECONDS,
    fixture_from_graph,
    graph_of_fixture,
    hogql_identifier,
    is_valid_view_name,
)
from lineage.sim.replay import fixture_from_snapshot
from lineage.sim.state import Warehouse

REAL = real_graphs_dir()
GRAPHS = ("posthog_revenue_analytics", "dbt_jaffle_shop", "dbt_tuva", "dbt_gitlab", "bigquery_etl")
STATUSES = {None, "Cancelled", "Modified", "Completed", "Failed", "Running"}


def load_graph(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REAL / f"{name}.json").read_text())
    return data


def dumps(fx: Mapping[str, Any]) -> str:
    return json.dumps(fx, sort_keys=True)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def converted() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each real graph and its fixture (seed 0), converted once for the whole module."""
    out = {}
    for name in GRAPHS:
        graph = load_graph(name)
        out[name] = (graph, fixture_from_graph(graph, seed=0, break_cycles=name == "bigquery_etl"))
    return out


def check_structure(fx: Mapping[str, Any]) -> None:
    """What the state layer needs from a fixture (interfaces.md section 4), checked independently."""
    assert fx["format"] == FORMAT
    assert fx["now"] == "2026-11-26T00:00:00Z"
    assert isinstance(fx["team_id"], int)
    user_ids = {u["id"] for u in fx["users"]}
    assert 1 <= len(user_ids) <= 2
    folders = {f["name"] for f in fx["folders"]}
    assert len(folders) == len(fx["folders"])
    names: dict[str, str] = {}
    for table in fx["tables"]:
        assert table["kind"] in ("posthog", "warehouse")
        if table["kind"] == "warehouse":
            uuid.UUID(table["id"])
        assert table["name"] not in names, f"duplicate name {table['name']}"
        names[table["name"]] = "table"
        if "hogql_name" in table:  # a sourced table: SQL names it by its hogql_name
            assert table["hogql_name"] not in names, f"duplicate name {table['hogql_name']}"
            names[table["hogql_name"]] = "table"
    ids = set()
    for view in fx["views"]:
        assert view["name"] not in names, f"duplicate name {view['name']}"
        names[view["name"]] = "view"
        assert str(uuid.UUID(view["id"])) == view["id"]
        ids.add(view["id"])
        assert is_valid_view_name(view["name"]), view["name"]
        assert view["status"] in STATUSES
        assert view["sync_frequency"] is None or view["sync_frequency"] in SYNC_SECONDS
        assert view["is_materialized"] == (view["sync_frequency"] is not None)
        assert view["folder"] is None or view["folder"] in folders
        assert view["created_by"] in user_ids
        assert ts(view["created_at"]) < NOW
        assert isinstance(view["query"], str) and view["query"].strip()
    assert len(ids) == len(fx["views"])
    for view in fx["views"]:
        for parent in view["parents"]:
            assert parent in names, f"{view['name']} reads unknown {parent}"
    assert nx.is_directed_acyclic_graph(graph_of_fixture(fx))
    by_view = {v["name"]: v for v in fx["views"]}
    for job in fx["jobs"]:
        assert by_view[job["view"]]["is_materialized"]
        assert job["status"] in ("Completed", "Failed", "Running", "Cancelled")
        assert job["workflow_id"].startswith("materialize")
        assert ts(job["created_at"]) <= ts(job["last_run_at"]) <= NOW
        assert (job["error"] is None) == (job["status"] != "Failed")
    keys = {k["key"]: set(k["scopes"]) for k in fx["api_keys"]}
    assert keys["phx_demo_read"] == {"warehouse_view:read", "warehouse_table:read", "query:read"} | {
        f"{kind}:read" for kind in ("insight", "dashboard", "notebook", "endpoint", "alert")
    }
    assert keys["phx_demo_write"] == {"warehouse_view:write", "warehouse_table:read", "query:read"}


def jobs_by_view(fx: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for job in sorted(fx["jobs"], key=lambda j: j["created_at"]):
        out.setdefault(job["view"], []).append(job)
    return out


def last_success(jobs: list[dict[str, Any]]) -> datetime | None:
    done = [ts(j["last_run_at"]) for j in jobs if j["status"] == "Completed"]
    return max(done) if done else None


# ------------------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_json(converted: Any) -> None:
    for name in ("posthog_revenue_analytics", "dbt_jaffle_shop", "dbt_gitlab"):
        graph, first = converted[name]
        again = fixture_from_graph(graph, seed=0)
        assert dumps(again) == dumps(first)


def test_different_seeds_differ(converted: Any) -> None:
    graph, first = converted["dbt_jaffle_shop"]
    other = fixture_from_graph(graph, seed=1)
    assert {v["id"] for v in other["views"]}.isdisjoint({v["id"] for v in first["views"]})
    assert dumps(other) != dumps(first)
    # The lineage itself does not depend on the seed.
    assert sorted((v["name"], v["parents"]) for v in other["views"]) == sorted(
        (v["name"], v["parents"]) for v in first["views"]
    )


def test_input_is_not_mutated() -> None:
    graph = load_graph("dbt_jaffle_shop")
    before = json.dumps(graph, sort_keys=True)
    fixture_from_graph(graph, seed=3)
    assert json.dumps(graph, sort_keys=True) == before


# ------------------------------------------------------------------------------------- real graphs


@pytest.mark.parametrize("name", GRAPHS)
def test_real_graph_converts_to_a_valid_fixture(converted: Any, name: str) -> None:
    _, fx = converted[name]
    check_structure(fx)


@pytest.mark.parametrize("name", GRAPHS)
def test_ground_truth_is_the_source_graph_renamed(converted: Any, name: str) -> None:
    graph, fx = converted[name]
    truth = graph_of_fixture(fx)
    renamed = fx["notes"].get("renamed", {})
    dropped = {tuple(d["original"]) for d in fx["notes"].get("dropped_edges", [])}
    id_of = {data["name"]: node for node, data in truth.nodes(data=True)}
    mapped = {n["name"]: id_of[renamed.get(n["name"], n["name"])] for n in graph["nodes"]}
    assert len(set(mapped.values())) == len(graph["nodes"]) == truth.number_of_nodes()
    expected = {(mapped[u], mapped[v]) for u, v in graph["edges"] if (u, v) not in dropped}
    assert set(truth.edges) == expected
    assert truth.number_of_edges() == len(graph["edges"]) - len(dropped)
    src = nx.DiGraph()
    src.add_nodes_from(n["name"] for n in graph["nodes"])
    src.add_edges_from(e for e in map(tuple, graph["edges"]) if e not in dropped)
    for orig, node in mapped.items():
        assert truth.in_degree(node) == src.in_degree(orig)
        assert truth.out_degree(node) == src.out_degree(orig)
    kinds = {n["name"]: n["kind"] for n in graph["nodes"]}
    for orig, node in mapped.items():
        is_view = truth.nodes[node]["kind"] in ("view", "matview")
        assert is_view == (kinds[orig] == "view")


def test_bigquery_cycles_are_refused_with_their_nodes() -> None:
    graph = load_graph("bigquery_etl")
    with pytest.raises(FixtureError) as err:
        fixture_from_graph(graph)
    text = str(err.value)
    for node in (
        "moz-fx-data-shared-prod.firefox_ios.clients_activation",
        "moz-fx-data-shared-prod.firefox_ios.firefox_ios_clients",
        "moz-fx-data-shared-prod.firefox_ios_derived.clients_activation_v1",
        "moz-fx-data-shared-prod.telemetry_derived.clients_histogram_aggregates_new_v1",
        "moz-fx-data-shared-prod.telemetry_derived.clients_histogram_aggregates_v2",
    ):
        assert node in text
    assert "break_cycles" in text


def test_bigquery_drops_exactly_the_readme_edges(converted: Any) -> None:
    _, fx = converted["bigquery_etl"]
    dropped = sorted(tuple(d["original"]) for d in fx["notes"]["dropped_edges"])
    assert dropped == [
        (
            "moz-fx-data-shared-prod.firefox_ios.firefox_ios_clients",
            "moz-fx-data-shared-prod.firefox_ios_derived.clients_activation_v1",
        ),
        (
            "moz-fx-data-shared-prod.telemetry_derived.clients_histogram_aggregates_v2",
            "moz-fx-data-shared-prod.telemetry_derived.clients_histogram_aggregates_new_v1",
        ),
    ]
    by_name = {v["name"]: v for v in fx["views"]}
    for d in fx["notes"]["dropped_edges"]:
        assert d["from"] not in by_name[d["to"]]["parents"]


def test_unknown_cycles_are_broken_by_dfs_back_edges() -> None:
    graph = {
        "nodes": [{"name": n, "kind": "view"} for n in "abcd"] + [{"name": "t", "kind": "table"}],
        "edges": [["t", "a"], ["a", "b"], ["b", "c"], ["c", "a"], ["c", "d"], ["d", "d"]],
    }
    with pytest.raises(FixtureError, match=r"a -> b -> c -> a"):
        fixture_from_graph(graph)
    fx = fixture_from_graph(graph, break_cycles=True)
    assert [tuple(d["original"]) for d in fx["notes"]["dropped_edges"]] == [("c", "a"), ("d", "d")]
    assert nx.is_directed_acyclic_graph(graph_of_fixture(fx))
    check_structure(fx)


@pytest.mark.parametrize("name", ["posthog_revenue_analytics", "dbt_jaffle_shop", "dbt_tuva"])
def test_every_query_reads_exactly_its_parents(converted: Any, name: str) -> None:
    _, fx = converted[name]
    for view in fx["views"]:
        assert extract_tables(view["query"]) == sorted(view["parents"]), view["name"]


def test_gitlab_sample_queries_read_exactly_their_parents(converted: Any) -> None:
    _, fx = converted["dbt_gitlab"]
    sample = random.Random(7).sample(fx["views"], 300)
    for view in sample:
        assert extract_tables(view["query"]) == sorted(view["parents"]), view["name"]


def test_bigquery_renames_are_valid_unique_and_documented(converted: Any) -> None:
    graph, fx = converted["bigquery_etl"]
    renamed = fx["notes"]["renamed"]
    assert (
        renamed["moz-fx-data-shared-prod.telemetry.uninstall"]
        == "moz_fx_data_shared_prod.telemetry.uninstall"
    )
    names = [v["name"] for v in fx["views"]] + [t["name"] for t in fx["tables"]]
    assert len(names) == len(set(names)) == len(graph["nodes"])
    for view in fx["views"]:
        assert NAME_RE.match(view["name"]) and len(view["name"]) <= MAX_NAME
    originals = {v["name"]: v["description"] for v in fx["views"]}
    for orig, new in renamed.items():
        if new in originals:
            assert originals[new].startswith(orig)


def test_posthog_graph_keeps_real_hogql_and_posthog_tables(converted: Any) -> None:
    graph, fx = converted["posthog_revenue_analytics"]
    sql = {n["name"]: n["sql"] for n in graph["nodes"] if n["kind"] == "view"}
    for view in fx["views"]:
        assert view["query"] == sql[view["name"]]
    kinds = {t["name"]: t["kind"] for t in fx["tables"]}
    assert kinds["events"] == kinds["persons"] == "posthog"
    assert kinds["stripe_test_invoice"] == "warehouse"
    truth = graph_of_fixture(fx)
    assert "events" in truth and truth.out_degree("events") == 8


def test_gitlab_view_named_events_is_renamed(converted: Any) -> None:
    _, fx = converted["dbt_gitlab"]
    by_name = {v["name"]: v for v in fx["views"]}
    assert "events" not in by_name
    assert by_name["events_view"]["description"].startswith("events ")
    assert "events_source" in by_name["events_view"]["parents"]


def test_realistic_materialization_and_jobs(converted: Any) -> None:
    _, fx = converted["dbt_gitlab"]
    views = fx["views"]
    share = sum(v["is_materialized"] for v in views) / len(views)
    assert 0.2 <= share <= 0.45
    truth = graph_of_fixture(fx)
    hubs = [v for v in views if truth.out_degree(v["id"]) >= 8]
    leaves = [v for v in views if truth.out_degree(v["id"]) == 0]
    assert sum(v["is_materialized"] for v in hubs) / len(hubs) > 0.6
    assert sum(v["is_materialized"] for v in leaves) / len(leaves) < 0.35
    jobs = jobs_by_view(fx)
    assert set(jobs) == {v["name"] for v in views if v["is_materialized"]}
    failing = stale = 0
    for view in views:
        if not view["is_materialized"]:
            assert view["status"] is None and view["last_run_at"] is None
            continue
        history = jobs[view["name"]]
        assert 1 <= len(history) <= 20
        assert view["last_run_at"] == history[-1]["last_run_at"]
        assert view["status"] in (history[-1]["status"], "Modified")
        if history[-1]["status"] == "Failed":
            failing += 1
            assert view["latest_error"] == history[-1]["error"]
        cadence = timedelta(seconds=SYNC_SECONDS[view["sync_frequency"]])
        success = last_success(history)
        if history[-1]["status"] == "Completed" and success is not None and NOW - success > 2 * cadence:
            stale += 1
        rows = [j["rows_materialized"] for j in history if j["status"] == "Completed"]
        assert rows == sorted(rows)  # flat or growing
    assert 0 < failing < 0.2 * len(jobs)
    assert 0 < stale < 0.2 * len(jobs)
    created = [ts(v["created_at"]) for v in views]
    assert max(created) - min(created) > timedelta(days=90)
    assert 2 <= len(fx["folders"]) <= 8


def test_children_are_created_after_their_parents(converted: Any) -> None:
    _, fx = converted["dbt_tuva"]
    at = {v["name"]: ts(v["created_at"]) for v in fx["views"]}
    for view in fx["views"]:
        for parent in view["parents"]:
            if parent in at:
                assert at[parent] <= at[view["name"]]


# ------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("graph", "words"),
    [
        ([], "JSON object"),
        ({"nodes": {}, "edges": []}, "lists"),
        ({"nodes": [{"kind": "view"}], "edges": []}, "'name'"),
        ({"nodes": [{"name": "a", "kind": "model"}], "edges": []}, "'model'"),
        ({"nodes": [{"name": "a", "kind": "view"}] * 2, "edges": []}, "twice"),
        ({"nodes": [{"name": "a", "kind": "view"}], "edges": [["x", "a"]]}, "'x'"),
        ({"nodes": [{"name": "a", "kind": "view"}], "edges": [["a"]]}, "edge #0"),
    ],
)
def test_bad_graphs_are_fixture_errors_that_say_what(graph: Any, words: str) -> None:
    with pytest.raises(FixtureError, match=re.escape(words)):
        fixture_from_graph(graph)


def test_graph_of_fixture_refuses_dangling_parents_and_missing_ids() -> None:
    fx: dict[str, Any] = {
        "tables": [],
        "views": [{"id": str(uuid.uuid4()), "name": "v", "parents": ["nope"]}],
    }
    with pytest.raises(FixtureError, match="'nope'"):
        graph_of_fixture(fx)
    with pytest.raises(FixtureError, match="'v' has no 'id'"):
        graph_of_fixture({"views": [{"name": "v", "parents": []}]})
    with pytest.raises(FixtureError, match="does not parse"):
        graph_of_fixture({"views": [{"id": "x", "name": "v", "query": "SELECT FROM ((("}]})


def test_graph_of_fixture_reads_parents_from_the_query_when_absent() -> None:
    fx = {
        "tables": [
            {"name": "events", "kind": "posthog"},
            {"id": "t-1", "name": "stripe_charge", "kind": "warehouse"},
        ],
        "views": [
            {"id": "v-1", "name": "a", "query": "WITH c AS (SELECT 1 FROM stripe_charge) SELECT * FROM c"},
            {
                "id": "v-2",
                "name": "b",
                "query": {"kind": "HogQLQuery", "query": "SELECT * FROM a JOIN events ON 1"},
            },
        ],
    }
    assert sorted(graph_of_fixture(fx).edges) == [("events", "v-2"), ("t-1", "v-1"), ("v-1", "v-2")]


# ------------------------------------------------------------------------------------- names


def test_names_are_mapped_deduped_and_bounded() -> None:
    long = "x" * 200
    graph = {
        "nodes": [
            {"name": "raw-orders", "kind": "table"},
            {"name": "raw_orders", "kind": "table"},
            {"name": "9lives", "kind": "view"},
            {"name": "events", "kind": "view"},
            {"name": "persons", "kind": "table"},
            {"name": "posthog.ai_events", "kind": "table"},
            {"name": "select", "kind": "view"},
            {"name": long, "kind": "view"},
            {"name": "reader", "kind": "view"},
        ],
        "edges": [
            ["raw-orders", "9lives"],
            ["raw_orders", "9lives"],
            ["persons", "events"],
            ["posthog.ai_events", "select"],
            ["9lives", long],
            ["select", "reader"],
        ],
    }
    fx = fixture_from_graph(graph)
    check_structure(fx)
    renamed = fx["notes"]["renamed"]
    assert renamed["9lives"] == "_9lives"
    assert renamed["events"] == "events_view"
    assert renamed["raw-orders"] == "raw_orders_2"  # "raw_orders" was taken by the real one
    assert len(renamed[long]) == MAX_NAME
    kinds = {t["name"]: t["kind"] for t in fx["tables"]}
    assert kinds == {
        "persons": "posthog",
        "posthog.ai_events": "posthog",
        "raw_orders": "warehouse",
        "raw_orders_2": "warehouse",
    }
    by_name = {v["name"]: v for v in fx["views"]}
    assert "`select`" in by_name["reader"]["query"]
    assert extract_tables(by_name["reader"]["query"]) == ["select"]
    assert extract_tables(by_name["select"]["query"]) == ["posthog.ai_events"]
    assert extract_tables(by_name["_9lives"]["query"]) == ["raw_orders", "raw_orders_2"]
    truth = graph_of_fixture(fx)
    assert truth.has_edge("posthog.ai_events", by_name["select"]["id"])


@given(st.text(min_size=1, max_size=150))
@settings(max_examples=200, deadline=None)
def test_any_name_becomes_a_valid_one_that_parses(raw: str) -> None:
    fx = fixture_from_graph({"nodes": [{"name": raw, "kind": "view"}], "edges": []})
    (view,) = fx["views"]
    assert is_valid_view_name(view["name"])
    assert view["name"].lower() not in HOGQL_RESERVED
    query = "SELECT 1 FROM " + hogql_identifier(view["name"])  # noqa: S608 -- HogQL text for the parser
    assert extract_tables(query) == [view["name"]]


@st.composite
def small_dags(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 14))
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_\-.]{0,8}", fullmatch=True), min_size=n, max_size=n, unique=True
        )
    )
    kinds = draw(st.lists(st.sampled_from(["view", "table"]), min_size=n, max_size=n))
    edges = []
    for j in range(n):
        for i in range(j):
            if kinds[j] == "view" and draw(st.booleans()):
                edges.append([names[i], names[j]])
    return {"nodes": [{"name": a, "kind": k} for a, k in zip(names, kinds, strict=True)], "edges": edges}


@given(small_dags(), st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_any_dag_round_trips_through_a_fixture(graph: dict[str, Any], seed: int) -> None:
    fx = fixture_from_graph(graph, seed=seed)
    check_structure(fx)
    truth = graph_of_fixture(fx)
    assert truth.number_of_nodes() == len(graph["nodes"])
    assert truth.number_of_edges() == len(graph["edges"])
    for view in fx["views"]:
        assert extract_tables(view["query"]) == sorted(view["parents"])


# ------------------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo_fx() -> dict[str, Any]:
    return demo.load_demo_fixture()


def test_committed_demo_is_what_demo_py_builds(demo_fx: dict[str, Any]) -> None:
    built = demo.build_demo_fixture(REAL / "posthog_revenue_analytics.json")
    assert demo.dumps_fixture(built) == demo.dumps_fixture(demo_fx)


def test_demo_is_a_valid_fixture(demo_fx: dict[str, Any]) -> None:
    check_structure(demo_fx)
    assert "managed-viewsets" in demo_fx["flags"]
    for view in demo_fx["views"]:
        assert extract_tables(view["query"]) == sorted(view["parents"]), view["name"]


def test_demo_is_at_least_five_levels_deep(demo_fx: dict[str, Any]) -> None:
    truth = graph_of_fixture(demo_fx)
    path = nx.dag_longest_path(truth)
    assert len(path) - 1 >= 5
    assert truth.nodes[path[0]]["kind"] == "table"


def test_demo_user_views_sit_on_the_real_revenue_views(demo_fx: dict[str, Any]) -> None:
    graph = load_graph("posthog_revenue_analytics")
    by_name = {v["name"]: v for v in demo_fx["views"]}
    managed = [v for v in demo_fx["views"] if v["origin"] == "managed_viewset"]
    user = [v for v in demo_fx["views"] if v["origin"] == "data_warehouse" and not v["deleted"]]
    assert len(managed) == 21 and 22 <= len(user) <= 32
    for node in graph["nodes"]:
        if node["kind"] == "view":
            assert by_name[node["name"]]["query"] == node["sql"]
    reads_managed = {
        p for v in user for p in v["parents"] if by_name.get(p, {}).get("origin") == "managed_viewset"
    }
    assert len(reads_managed) >= 5
    tables = {t["name"]: t for t in demo_fx["tables"]}
    assert tables["hubspot_contacts"]["kind"] == "warehouse"
    assert {"events", "persons", "sessions"} <= {n for n, t in tables.items() if t["kind"] == "posthog"}
    folders = {v["folder"] for v in user}
    assert {"Finance", "Marketing", "Product analytics"} <= folders
    assert {f["name"] for f in demo_fx["folders"]} == {"Finance", "Marketing", "Product analytics"}
    queries = " ".join(v["query"] for v in user)
    for construct in ("WITH ", "JOIN", "UNION ALL", "(\n    SELECT", " AS "):
        assert construct in queries
    assert sum(1 for v in user if v.get("columns")) == len(user)


def test_demo_has_one_failing_one_stale_and_one_ghost(demo_fx: dict[str, Any]) -> None:
    views = demo_fx["views"]
    jobs = jobs_by_view(demo_fx)
    materialized = [v for v in views if v["is_materialized"]]
    assert len(materialized) >= 6
    failing = [v["name"] for v in views if v["status"] == "Failed"]
    assert failing == ["revenue_reconciliation"]
    history = jobs["revenue_reconciliation"]
    assert [j["status"] for j in history[-3:]] == ["Failed"] * 3
    assert history[-4]["status"] == "Completed"
    assert views[[v["name"] for v in views].index("revenue_reconciliation")]["latest_error"]
    stale = []
    for view in materialized:
        cadence = timedelta(seconds=SYNC_SECONDS[view["sync_frequency"]])
        success = last_success(jobs[view["name"]])
        assert success is not None
        if NOW - success > 2 * cadence:
            stale.append(view["name"])
        elif view["name"] != "revenue_reconciliation":
            assert NOW - success <= cadence + timedelta(hours=1), view["name"]
    assert stale == ["campaign_spend"]
    spend = next(v for v in views if v["name"] == "campaign_spend")
    assert NOW - ts(spend["last_run_at"]) > 4 * timedelta(seconds=SYNC_SECONDS[spend["sync_frequency"]])
    ghosts = [v for v in views if v["deleted"]]
    assert [g["name"] for g in ghosts] == ["revenue_rollup_v1"]
    readers = [v["name"] for v in views if not v["deleted"] and "revenue_rollup_v1" in v["parents"]]
    assert readers == ["revenue_reconciliation"]
    truth = graph_of_fixture(demo_fx)
    ghost_id = ghosts[0]["id"]
    assert truth.nodes[ghost_id]["deleted"] is True
    assert truth.in_degree(ghost_id) == 1 and truth.out_degree(ghost_id) == 1


# ------------------------------------------------------------------------------------- state layer


def test_state_layer_serves_the_demo(demo_fx: dict[str, Any]) -> None:
    wh = Warehouse(demo_fx, era="e2")
    listed = {v["name"]: v for v in wh.list_views()}
    assert set(listed) == {v["name"] for v in demo_fx["views"] if not v["deleted"]}
    ghost = next(v for v in demo_fx["views"] if v["deleted"])
    assert ghost["id"] in wh.ancestors(listed["revenue_reconciliation"]["id"])
    assert listed["revenue_reconciliation"]["status"] == "Failed"
    assert listed["revenue_reconciliation"]["latest_error"]
    assert listed["finance_kpis"]["folder_name"] == "Finance"
    assert len(wh.list_jobs()) == len(demo_fx["jobs"])
    warehouse_tables = {t["name"] for t in demo_fx["tables"] if t["kind"] == "warehouse"}
    assert {t["name"] for t in wh.list_tables()} == warehouse_tables


@pytest.mark.parametrize("name", ["posthog_revenue_analytics", "dbt_jaffle_shop"])
def test_state_layer_lineage_matches_ground_truth(converted: Any, name: str) -> None:
    _, fx = converted[name]
    wh = Warehouse(fx, era="e2")
    truth = graph_of_fixture(fx)
    views = wh.list_views()
    assert len(views) == len(fx["views"])
    for view in views:
        assert sorted(wh.ancestors(view["id"])) == sorted(nx.ancestors(truth, view["id"]))
        assert sorted(wh.descendants(view["id"])) == sorted(nx.descendants(truth, view["id"]))


def test_sql_is_kept_only_when_it_reads_exactly_the_parents() -> None:
    good = "SELECT o.id AS id FROM raw_orders AS o JOIN raw_items AS i ON i.order_id = o.id"
    nodes: list[dict[str, str]] = [
        {"name": "raw_orders", "kind": "table"},
        {"name": "raw_items", "kind": "table"},
        {"name": "kept", "kind": "view", "sql": good},
        {"name": "wrong_tables", "kind": "view", "sql": "SELECT 1 FROM raw_orders"},
        {"name": "jinja", "kind": "view", "sql": "select * from {{ ref('raw_orders') }}"},
        {"name": "not_hogql", "kind": "view", "sql": "SELECT FROM WHERE ((("},
    ]
    edges = [["raw_orders", "kept"], ["raw_items", "kept"], ["raw_items", "wrong_tables"]]
    edges += [["raw_orders", n] for n in ("wrong_tables", "jinja", "not_hogql")]
    graph = {"nodes": nodes, "edges": edges}
    fx = fixture_from_graph(graph)
    by_name = {v["name"]: v for v in fx["views"]}
    assert by_name["kept"]["query"] == good
    for name in ("wrong_tables", "jinja", "not_hogql"):
        view = by_name[name]
        assert view["query"] != next(n["sql"] for n in nodes if n["name"] == name)
        assert extract_tables(view["query"]) == view["parents"]


def test_output_does_not_depend_on_the_hash_seed() -> None:
    code = (
        "import json, sys; from lineage.sim.generate import fixture_from_graph; "
        f"g = json.load(open({str(REAL / 'dbt_jaffle_shop.json')!r})); "
        "sys.stdout.write(json.dumps(fixture_from_graph(g, seed=4), sort_keys=True))"
    )
    outs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outs.add(done.stdout)
    assert len(outs) == 1
    assert outs == {dumps(fixture_from_graph(load_graph("dbt_jaffle_shop"), seed=4))}


# ------------------------------------------------------------------------------------- snapshots

SNAPSHOT_KEPT = (
    "name",
    "kind",
    "table_kind",
    "folder",
    "is_materialized",
    "sync_frequency",
    "status",
    "latest_error",
    "last_run_at",
    "columns",
    "created_at",
    "created_by",
    "jobs",
)


@pytest.fixture(scope="module")
def demo_snapshot(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The bundled demo crawled over loopback HTTP, as `lineage demo` writes it."""
    from lineage.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    run_demo(out)
    data: dict[str, Any] = json.loads((out / "snapshot.json").read_text(encoding="utf-8"))
    return data


def snapshot_view(data: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """What a replay must give back: per node id the kept attributes, and the edges."""
    nodes = {n["id"]: {k: n.get(k) for k in SNAPSHOT_KEPT} for n in data["nodes"]}
    return nodes, sorted((e["source"], e["target"]) for e in data["edges"])


def _without_finish(attrs: dict[str, Any]) -> dict[str, Any]:
    jobs = attrs.get("jobs")
    if not isinstance(jobs, dict):
        return attrs
    history = [{k: v for k, v in j.items() if k != "finished_at"} for j in jobs.get("history") or []]
    return {**attrs, "jobs": {**jobs, "history": history, "last_success_at": None, "median_duration_s": None}}


def crawl_fixture(fx: dict[str, Any], edges: str) -> dict[str, Any]:
    import asyncio

    from lineage.config import Settings
    from lineage.crawl import CrawlOptions, crawl_async
    from lineage.sim.server import serve_in_thread

    with serve_in_thread(fx, era="e2" if edges == "api" else "e3") as server:
        settings = Settings.resolve(
            host=server.url, project=str(fx["team_id"]), api_key="phx_demo_read", env={}
        )
        options = CrawlOptions(strategy="all", edges=edges, with_sql=True)  # type: ignore[arg-type]
        result = asyncio.run(crawl_async(settings, options))
    return result.graph.to_json_data()


@pytest.mark.parametrize("edges", ["api", "system"])
def test_crawling_a_replayed_snapshot_gives_the_snapshot_back(
    demo_snapshot: dict[str, Any], edges: str
) -> None:
    first_nodes, first_edges = snapshot_view(demo_snapshot)
    # The demo exercises what a replay must carry: a ghost, failing and healthy matviews, job history.
    kinds = [n["kind"] for n in first_nodes.values()]
    assert {"view", "matview", "table", "unknown"} <= set(kinds)
    assert any(n.get("ghost") for n in demo_snapshot["nodes"])
    assert any(n["status"] == "Failed" for n in first_nodes.values() if n["kind"] == "matview")
    assert sum(len(n["jobs"]["history"]) for n in first_nodes.values() if n["jobs"]) > 50

    second = crawl_fixture(fixture_from_graph(demo_snapshot), edges)
    second_nodes, second_edges = snapshot_view(second)
    if edges == "api":
        # The api-edge replay runs an older PostHog (E2, whose lineage endpoints personal keys may
        # call); its jobs have no updated_at, so the newest PostHog's finish time is not read back.
        first_nodes = {k: _without_finish(v) for k, v in first_nodes.items()}
        second_nodes = {k: _without_finish(v) for k, v in second_nodes.items()}
    assert second_edges == first_edges
    assert second_nodes.keys() == first_nodes.keys()
    for node_id, attrs in first_nodes.items():
        assert second_nodes[node_id] == attrs, attrs["name"]


def test_snapshot_fixture_keeps_ids_names_sql_and_the_crawl_clock(demo_snapshot: dict[str, Any]) -> None:
    fx = fixture_from_graph(demo_snapshot, seed=0)
    assert fx == fixture_from_snapshot(demo_snapshot, seed=0)
    assert fx["format"] == FORMAT
    assert fx["now"] == demo_snapshot["graph"]["crawled_at"]
    assert {k["key"] for k in fx["api_keys"]} == {"phx_demo_read", "phx_demo_write"}
    nodes = {n["id"]: n for n in demo_snapshot["nodes"]}
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((e["source"], e["target"]) for e in demo_snapshot["edges"])
    for view in fx["views"]:
        node = nodes[view["id"]]
        assert view["name"] == node["name"]
        assert view["deleted"] == bool(node.get("ghost"))
        assert view["parents"] == sorted(nodes[p]["name"] for p in g.predecessors(view["id"]))
        if "sql" in node:
            assert view["query"] == node["sql"]
    for table in fx["tables"]:
        node_id = table.get("id", table["name"])
        assert nodes[node_id]["name"] == table["name"]
        assert nodes[node_id]["table_kind"] == table["kind"]
    users = {f"{u['first_name']} {u['last_name']}" for u in fx["users"]}
    assert users == {n["created_by"] for n in nodes.values() if n.get("created_by")}
    jobs = {j["id"] for j in fx["jobs"]}
    assert jobs == {h["id"] for n in nodes.values() if n.get("jobs") for h in n["jobs"]["history"]}
    # ground truth of the fixture is the snapshot's lineage, id for id
    assert sorted(graph_of_fixture(fx, consumers=True).edges) == sorted(g.edges)


def test_snapshot_fixture_is_deterministic_and_seed_changes_only_what_it_makes(
    demo_snapshot: dict[str, Any],
) -> None:
    before = json.dumps(demo_snapshot, sort_keys=True)
    a, b = fixture_from_snapshot(demo_snapshot, seed=1), fixture_from_snapshot(demo_snapshot, seed=1)
    assert dumps(a) == dumps(b)
    assert json.dumps(demo_snapshot, sort_keys=True) == before
    c = fixture_from_snapshot(demo_snapshot, seed=2)
    assert [v["id"] for v in a["views"]] == [v["id"] for v in c["views"]]
    assert [j["id"] for j in a["jobs"]] == [j["id"] for j in c["jobs"]]
    assert {f["id"] for f in a["folders"]}.isdisjoint(f["id"] for f in c["folders"])


def make_snapshot(nodes: list[dict[str, Any]], edges: list[tuple[str, str]], **graph: Any) -> dict[str, Any]:
    from lineage.graph import LineageGraph

    lg = LineageGraph(host="https://eu.posthog.com", project="4242", crawled_at="2026-03-01T12:00:00Z")
    lg.attrs.update(graph)
    for node in nodes:
        attrs = dict(node)
        lg.add_node(attrs.pop("id"), **attrs)
    for up, down in edges:
        lg.add_edge(up, down)
    return lg.to_json_data()


U = [str(uuid.UUID(int=i + 1)) for i in range(8)]


def test_snapshot_edge_cases_become_a_servable_fixture_with_the_same_lineage() -> None:
    nodes: list[dict[str, Any]] = [
        {
            "id": U[0],
            "name": "orders",
            "kind": "matview",
            "is_materialized": True,
            "sync_frequency": "6hour",
            "jobs": {
                "history": [
                    {
                        "id": "run-0",
                        "status": "Completed",
                        "created_at": None,
                        "last_run_at": "2026-03-01T06:00:00Z",
                        "rows": 10,
                        "error": None,
                    },
                    {
                        "id": U[7],
                        "status": "Exploded",
                        "created_at": "2026-03-01T07:00:00Z",
                        "last_run_at": None,
                        "rows": None,
                        "error": None,
                    },
                ]
            },
        },
        {"id": U[1], "name": "orders", "kind": "unknown", "ghost": True},  # renamed, then reused
        {"id": U[2], "name": "reader", "kind": "view", "folder": "Ops", "created_by": "ops@example.com"},
        {"id": U[3], "name": U[3], "kind": "unknown"},  # seen only as a parent id
        {"id": "events", "name": "events", "kind": "table", "table_kind": "posthog"},
        {"id": U[4], "name": "reader", "kind": "table", "table_kind": "warehouse"},  # clashes with a view
        {"id": "not-a-uuid", "name": "odd", "kind": "view", "sync_frequency": "2min"},
    ]
    edges = [("events", U[0]), (U[1], U[2]), (U[0], U[2]), (U[3], U[2]), (U[4], U[2]), (U[2], "not-a-uuid")]
    fx = fixture_from_graph(make_snapshot(nodes, edges), seed=5)
    views = {v["name"]: v for v in fx["views"]}
    tables = {t["name"]: t for t in fx["tables"]}
    assert fx["team_id"] == 4242 and fx["now"] == "2026-03-01T12:00:00Z"
    assert views[U[1]]["deleted"] is True and views[U[1]]["id"] == U[1]
    assert tables[U[3]] == {"id": U[3], "name": U[3], "kind": "warehouse"}
    assert tables["reader_00000000"]["id"] == U[4]
    assert fx["notes"]["renamed"] == {U[1]: U[1], U[4]: "reader_00000000"}
    assert fx["notes"]["unknown_as_tables"] == [U[3]]
    reader = views["reader"]
    assert (
        extract_tables(reader["query"])
        == reader["parents"]
        == sorted(["orders", U[1], U[3], "reader_00000000"])
    )
    assert views["odd"]["sync_frequency"] is None and any("2min" in c for c in fx["notes"]["changed"])
    assert fx["users"] == [{"id": 1, "first_name": "", "last_name": "", "email": "ops@example.com"}]
    (job,) = fx["jobs"]
    assert job["created_at"] == "2026-03-01T06:00:00Z" and str(uuid.UUID(job["id"])) == job["id"]
    assert any("Exploded" in c for c in fx["notes"]["changed"])
    odd_id = views["odd"]["id"]
    truth = graph_of_fixture(fx)
    assert sorted(truth.edges) == sorted(
        [("events", U[0]), (U[1], U[2]), (U[0], U[2]), (U[3], U[2]), (U[4], U[2]), (U[2], odd_id)]
    )
    wh = Warehouse(fx, era="e2")
    assert set(wh.ancestors(U[2])) >= {U[0], U[3], U[4]}


def test_snapshot_cycles_are_refused_by_name_or_broken() -> None:
    nodes = [{"id": U[0], "name": "a", "kind": "view"}, {"id": U[1], "name": "b", "kind": "view"}]
    snap = make_snapshot(nodes, [(U[0], U[1]), (U[1], U[0])])
    with pytest.raises(FixtureError, match=r"a -> b -> a"):
        fixture_from_graph(snap)
    fx = fixture_from_graph(snap, break_cycles=True)
    assert [(d["from"], d["to"]) for d in fx["notes"]["dropped_edges"]] == [("b", "a")]
    assert nx.is_directed_acyclic_graph(graph_of_fixture(fx))


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        ({"hello": "world"}, FixtureError, "lineage-snapshot/1"),
        ({"hello": "world"}, FixtureError, "real_graphs"),
        ("text", FixtureError, "lineage-snapshot/1"),
        ({"graph": {"format": "lineage-snapshot/9"}, "nodes": [], "edges": []}, SnapshotError, "newer"),
        ({"graph": {}, "nodes": [], "edges": []}, SnapshotError, "lineage crawl"),
    ],
)
def test_neither_format_is_an_error_naming_both(data: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=re.escape(words)):
        fixture_from_graph(data)


@st.composite
def small_snapshots(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, len(U)))
    kinds = st.sampled_from(["view", "matview", "table", "posthog", "ghost", "unknown"])
    names = st.sampled_from(["a", "b", "c", "d.e", "events"])
    nodes: list[dict[str, Any]] = []
    edges = []
    for i in range(n):
        kind, name = draw(kinds), draw(names)
        node: dict[str, Any] = {"id": U[i], "name": name}
        if kind == "ghost":
            node.update(kind="unknown", ghost=True)
        elif kind in ("table", "posthog"):
            node.update(kind="table", table_kind="warehouse")
            if kind == "posthog" and not any(m["id"] == name for m in nodes):
                node.update(id=name, table_kind="posthog")
        else:
            node.update(
                kind=kind, is_materialized=kind == "matview", sql=draw(st.sampled_from([None, "SELECT 1"]))
            )
        nodes.append(node)
        for earlier in nodes[:-1]:
            if kind in ("view", "matview", "ghost") and draw(st.booleans()):
                edges.append((earlier["id"], node["id"]))
    return make_snapshot(nodes, edges)


@given(small_snapshots(), st.integers(0, 2))
@settings(max_examples=60, deadline=None)
def test_any_snapshot_replays_to_its_own_lineage(snap: dict[str, Any], seed: int) -> None:
    fx = fixture_from_snapshot(snap, seed=seed)
    truth = graph_of_fixture(fx)
    assert sorted(truth.nodes) == sorted(n["id"] for n in snap["nodes"])
    assert sorted(truth.edges) == sorted((e["source"], e["target"]) for e in snap["edges"])
    wh = Warehouse(fx, era="e2")  # the simulator accepts it, and serves the same lineage
    for view in fx["views"]:
        if not view["deleted"]:
            # ancestors speaks PostHog's path labels for PostHog tables ("d.e" as "d", "e"): compare ids
            served = {a for a in wh.ancestors(view["id"]) if a in U}
            assert served == {a for a in nx.ancestors(truth, view["id"]) if a in U}


def test_cli_fixture_takes_a_snapshot_and_refuses_other_json(
    demo_snapshot: dict[str, Any], tmp_path: Any
) -> None:
    from click.testing import CliRunner

    from lineage.cli.sim import sim

    snap = tmp_path / "snapshot.json"
    snap.write_text(json.dumps(demo_snapshot), encoding="utf-8")
    done = CliRunner().invoke(sim, ["fixture", "--from-graph", str(snap), "--seed", "3"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == json.loads(dumps(fixture_from_snapshot(demo_snapshot, seed=3)))
    other = tmp_path / "other.json"
    other.write_text('{"rows": []}', encoding="utf-8")
    bad = CliRunner().invoke(sim, ["fixture", "--from-graph", str(other)])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "real_graphs" in bad.output and "lineage-snapshot/1" in bad.output


def test_generate_still_exports_what_it_did_before_the_split_into_gen_modules() -> None:
    from lineage.sim import gen_base, gen_graph, gen_jobs, gen_names, gen_sql, generate

    homes = {
        gen_base: (
            "CONSUMER_READ_SCOPES",
            "FORMAT",
            "NOW",
            "READ_KEY",
            "WRITE_KEY",
            "base_document",
            "iso",
            "namespace_for_seed",
            "seeded_rngs",
        ),
        gen_graph: ("ACCEPTED", "KNOWN_CYCLE_EDGES", "cycle_closing_edges", "graph_cycles"),
        gen_jobs: ("SYNC_SECONDS", "make_jobs"),
        gen_names: (
            "HOGQL_RESERVED",
            "MAX_NAME",
            "NAME_RE",
            "POSTHOG_TABLES",
            "hogql_identifier",
            "is_valid_view_name",
        ),
        gen_sql: ("make_query",),
    }
    for module, names in homes.items():
        for name in names:
            assert getattr(generate, name) is getattr(module, name), (module.__name__, name)
    moved = [n for names in homes.values() for n in names]
    assert sorted(generate.__all__) == sorted([*moved, "fixture_from_graph", "graph_of_fixture"])
