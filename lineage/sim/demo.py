"""The bundled demo warehouse: PostHog's real revenue-analytics views plus a team's own views on top.

The base is PostHog's managed revenue-analytics viewset, with the HogQL PostHog prints for it
(``shared/data/real_graphs/posthog_revenue_analytics.json``), reading Stripe and Checkout.com
warehouse tables and ``events``/``persons``. On top sit 28 views a data team would write, in three
folders (Finance, Marketing, Product analytics) and one unfiled board report, seven hops deep at
the longest. It stages the findings a lineage tool should surface:

* ``revenue_reconciliation`` fails to materialize (a streak of three failures, ``latest_error`` set),
* ``campaign_spend`` is stale (last success nine days ago on a daily schedule),
* ``revenue_rollup_v1`` was deleted but ``revenue_reconciliation`` still reads it (a ghost),
* the consumers people look at (insights, dashboards, notebooks, endpoints, alerts): a Finance
  dashboard on the MRR views whose
  "Revenue reconciliation gaps" insight reads the failing view and carries an alert (a broken
  dashboard), a Marketing dashboard, a notebook investigating churn (an embedded insight and a SQL
  cell), an endpoint serving its second version, an insight on ``events`` only, and deleted ones.

The team's own tables and views are data: ``lineage/sim/data/demo/views.json`` (folder, parents,
columns, materialization) and one ``<view name>.sql`` file each for their HogQL.
``python -m lineage.sim.demo`` rewrites ``lineage/sim/data/demo.json``; :func:`load_demo_fixture`
reads the committed copy.
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

from lineage.errors import FixtureError
from lineage.io import write_atomic
from lineage.sim.gen_base import NOW, base_document, iso, namespace_for_seed
from lineage.sim.gen_jobs import make_jobs

DEMO_SEED: Final = 2026
DATA_FILE: Final = "demo.json"
SQL_DIR: Final = "demo"  # data/demo/<view name>.sql: each user view's HogQL
FINANCE, MARKETING, PRODUCT = "Finance", "Marketing", "Product analytics"

# (name, folder, parents, columns, materialization) — the query is data/demo/<name>.sql;
# materialization is None or (sync_frequency, health, number of jobs, rows in the first job);
# health "ok", "failing" or "stale".
UserView = tuple[
    str, str | None, tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, str, int, int] | None
]


def _spec() -> dict[str, Any]:
    """``data/demo/views.json``: the team's own tables and views (everything but their SQL)."""
    text = (resources.files("lineage.sim") / "data" / SQL_DIR / "views.json").read_text(encoding="utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


def _view(row: dict[str, Any]) -> UserView:
    mat = row["materialization"]
    return (
        row["name"],
        row["folder"],
        tuple(row["parents"]),
        tuple(row["columns"].items()),
        None if mat is None else (mat["sync_frequency"], mat["health"], mat["jobs"], mat["first_rows"]),
    )


_SPEC: Final = _spec()
# Warehouse tables the team synced besides the revenue sources: (name, source_type, columns).
EXTRA_TABLES: Final[tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]] = tuple(
    (t["name"], t["source_type"], tuple(t["columns"].items())) for t in _SPEC["extra_tables"]
)
# Tables synced from Stripe and HubSpot the way the newest PostHog names them: a storage name and the
# hogql_name SQL uses. (name, source type, hogql_name, columns)
SOURCED_TABLES: Final[tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...]] = tuple(
    (t["name"], t["source_type"], t["hogql_name"], tuple(t["columns"].items()))
    for t in _SPEC["sourced_tables"]
)
USER_VIEWS: Final[tuple[UserView, ...]] = tuple(_view(v) for v in _SPEC["user_views"])
# The ghost: deleted in September, still read by revenue_reconciliation.
GHOST: Final[UserView] = _view(_SPEC["ghost"])
# Views over the sourced tables, reading them by their hogql_name as SQL in the newest PostHog does.
SOURCED_VIEWS: Final[tuple[UserView, ...]] = tuple(_view(v) for v in _SPEC["sourced_views"])
GHOST_ERROR: Final = (
    "Unknown table `revenue_rollup_v1`: the view it names was deleted. "
    "Restore it or update revenue_reconciliation's query."
)


def _columns(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in pairs]


def view_sql(name: str) -> str:
    """The HogQL of the demo's user view ``name``: ``data/demo/<name>.sql`` without its final newline."""
    text = (resources.files("lineage.sim") / "data" / SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return text.removesuffix("\n")


def build_demo_fixture(source: Path | None = None) -> dict[str, Any]:
    """Build the demo warehouse fixture from the PostHog revenue-analytics graph at ``source``."""
    if source is None:
        from lineage.devdata import real_graph

        source = real_graph("posthog_revenue_analytics")
    try:
        graph = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FixtureError(f"cannot read the demo's source graph {source}: {exc}") from exc
    ns = namespace_for_seed(DEMO_SEED)
    doc = base_document()
    doc["flags"] = ["managed-viewsets"]
    parents_of: dict[str, list[str]] = {}
    for up, down in graph["edges"]:
        parents_of.setdefault(down, []).append(up)

    def rng(name: str) -> random.Random:
        return random.Random(f"demo\x1f{name}")

    sources_created = NOW - timedelta(days=290)
    tables: list[dict[str, Any]] = []
    for node in sorted(graph["nodes"], key=lambda n: n["name"]):
        if node["kind"] != "table":
            continue
        name = node["name"]
        if name in ("events", "persons"):
            tables.append({"name": name, "kind": "posthog"})
            continue
        table: dict[str, Any] = {
            "id": str(uuid.uuid5(ns, f"table:{name}")),
            "name": name,
            "kind": "warehouse",
            "format": "Parquet" if name.startswith("stripe") else "Delta",
            "created_at": iso(sources_created + timedelta(minutes=5 * len(tables))),
        }
        if name.startswith("stripe"):
            table["source_type"] = "Stripe"
        tables.append(table)
    tables.append({"name": "sessions", "kind": "posthog"})
    # The team's synced tables: EXTRA_TABLES from 200 days ago, SOURCED_TABLES (with a hogql_name)
    # from 120, one table every 20 and 10 days after that.
    team_tables: list[tuple[str, str, str | None, tuple[tuple[str, str], ...], int]] = [
        (name, source, None, cols, 200 - 20 * i) for i, (name, source, cols) in enumerate(EXTRA_TABLES)
    ]
    team_tables += [(*row, 120 - 10 * i) for i, row in enumerate(SOURCED_TABLES)]
    for name, source_type, hogql_name, cols, days_ago in team_tables:
        table = {
            "id": str(uuid.uuid5(ns, f"table:{name}")),
            "name": name,
            "kind": "warehouse",
            "format": "Delta",
            "source_type": source_type,
            "created_at": iso(NOW - timedelta(days=days_ago)),
            "columns": _columns(cols),
        }
        if hogql_name is not None:
            table["hogql_name"] = hogql_name
        tables.append(table)
    tables.sort(key=lambda t: t["name"])

    views: list[dict[str, Any]] = []
    managed_created = NOW - timedelta(days=280)
    for node in sorted(graph["nodes"], key=lambda n: n["name"]):
        if node["kind"] != "view":
            continue
        name = node["name"]
        views.append(
            {
                "id": str(uuid.uuid5(ns, f"view:{name}")),
                "name": name,
                "description": f"Revenue analytics ({node.get('origin', 'managed viewset')})",
                "query": node["sql"],
                "parents": sorted(parents_of.get(name, [])),
                "is_materialized": False,
                "sync_frequency": None,
                "folder": None,
                "status": None,
                "latest_error": None,
                "last_run_at": None,
                "created_at": iso(managed_created + timedelta(seconds=17 * len(views))),
                "created_by": 1,
                "origin": "managed_viewset",
                "managed_viewset_kind": "revenue_analytics",
                "deleted": False,
            }
        )

    jobs: list[dict[str, Any]] = []
    user_created = NOW - timedelta(days=240)
    for i, spec in enumerate((*USER_VIEWS, GHOST, *SOURCED_VIEWS)):
        name, folder, parents, cols, mat = spec
        query = view_sql(name)
        view_id = str(uuid.uuid5(ns, f"view:{name}"))
        r = rng(name)
        view = {
            "id": view_id,
            "name": name,
            "description": None,
            "query": query,
            "parents": sorted(parents),
            "columns": _columns(cols),
            "is_materialized": mat is not None,
            "sync_frequency": mat[0] if mat else None,
            "folder": folder,
            "status": None,
            "latest_error": None,
            "last_run_at": None,
            "created_at": iso(user_created + timedelta(days=6 * i, hours=r.uniform(9, 18))),
            "created_by": 1 if i % 3 else 2,
            "origin": "data_warehouse",
            "deleted": False,
        }
        if spec is GHOST:
            view["created_at"] = iso(user_created - timedelta(days=30))
            view.update(deleted=True, deleted_at=iso(NOW - timedelta(days=68, hours=3)))
        if mat is not None:
            freq, health, n_jobs, rows = mat
            history = _history(name, view_id, ns, r, freq, health, n_jobs, size=len(parents), rows=rows)
            last = history[-1]
            view["status"] = last["status"]
            view["last_run_at"] = last["last_run_at"]
            if last["status"] == "Failed":
                view["latest_error"] = last["error"]
            jobs.extend(history)
        views.append(view)
    views.sort(key=lambda v: v["name"])
    jobs.sort(key=lambda j: (j["created_at"], j["id"]))

    folders = [
        {
            "id": str(uuid.uuid5(ns, f"folder:{name}")),
            "name": name,
            "created_at": iso(user_created - timedelta(days=1, hours=k)),
            "created_by": 1,
        }
        for k, name in enumerate(sorted((FINANCE, MARKETING, PRODUCT)))
    ]
    doc.update(_consumers(ns))
    doc.update(
        folders=folders,
        tables=tables,
        views=views,
        jobs=jobs,
        external_jobs=_external_jobs(ns),
        notes={
            "source": "lineage.sim.demo: PostHog revenue-analytics views "
            f"({graph.get('source', 'posthog_revenue_analytics.json')}) plus {len(USER_VIEWS)} user views",
            "failing": "revenue_reconciliation",
            "stale": "campaign_spend",
            "ghost": "revenue_rollup_v1",
        },
    )
    return doc


def _hogql_insight(sql: str) -> dict[str, Any]:
    """A SQL insight as PostHog saves it: a DataVisualizationNode around a HogQLQuery."""
    return {
        "kind": "DataVisualizationNode",
        "source": {"kind": "HogQLQuery", "query": sql},
        "display": "ActionsLineGraph",
    }


def _consumers(ns: uuid.UUID) -> dict[str, Any]:
    """The demo's insights, dashboards, tiles, notebook, endpoint and alert (fixture keys of section 6)."""
    day = timedelta(days=1)

    def when(days_ago: int) -> str:
        return iso(NOW - days_ago * day)

    insights = [
        {
            "id": 101,
            "short_id": "mRrMnTh1",
            "name": "MRR by month",
            "query": _hogql_insight("SELECT month, mrr, paying_customers FROM mrr_by_month ORDER BY month"),
            "created_by": 1,
            "created_at": when(120),
            "last_modified_at": when(30),
        },
        {
            "id": 102,
            "short_id": "mRrMoVe2",
            "name": "MRR movements",
            "query": _hogql_insight(
                "SELECT month, new_mrr, expansion_mrr, -contraction_mrr AS contraction FROM mrr_movements "
                "WHERE {filters} ORDER BY month"
            ),
            "created_by": 1,
            "created_at": when(110),
        },
        {
            "id": 103,
            "short_id": "cHuRnRt3",
            "name": "Churn rate",
            # A warehouse series in a trends insight: PostHog names the view in table_name.
            "query": {
                "kind": "InsightVizNode",
                "source": {
                    "kind": "TrendsQuery",
                    "series": [
                        {
                            "kind": "DataWarehouseNode",
                            "id": "churn_monthly",
                            "table_name": "churn_monthly",
                            "timestamp_field": "month",
                            "id_field": "month",
                            "distinct_id_field": "month",
                            "math": "avg",
                            "math_property": "churn_rate",
                        }
                    ],
                    "interval": "month",
                    "dateRange": {"date_from": "-12m"},
                },
            },
            "created_by": 2,
            "created_at": when(100),
        },
        {
            "id": 104,
            "short_id": "rEcOnGp4",
            "name": "Revenue reconciliation gaps",
            "query": _hogql_insight(
                "SELECT day, difference FROM revenue_reconciliation "
                "WHERE abs(difference) > 0 ORDER BY day DESC"
            ),
            "created_by": 2,
            "created_at": when(90),
        },
        {
            "id": 105,
            "short_id": "bOaRdKp5",
            "name": "Board KPIs",
            "query": {
                "kind": "DataTableNode",
                "source": {
                    "kind": "HogQLQuery",
                    "query": "SELECT * FROM finance_kpis ORDER BY month DESC LIMIT 12",
                },
            },
            "created_by": 1,
            "created_at": when(80),
        },
        {
            "id": 106,
            "short_id": "mKtRoAs6",
            "name": "Return on ad spend by campaign",
            "query": _hogql_insight("SELECT campaign, roas, cac FROM marketing_roi ORDER BY roas DESC"),
            "created_by": 2,
            "created_at": when(70),
        },
        {
            "id": 107,
            "short_id": "pGvWeEk7",
            "name": "Weekly pageviews",
            # reads only PostHog's own events: no consumer of the warehouse
            "query": {
                "kind": "InsightVizNode",
                "source": {
                    "kind": "TrendsQuery",
                    "series": [{"kind": "EventsNode", "event": "$pageview", "math": "total"}],
                    "interval": "week",
                },
            },
            "created_by": 1,
            "created_at": when(60),
        },
        {
            "id": 108,
            "short_id": "oLdMrRc8",
            "name": "MRR (old)",
            "query": _hogql_insight("SELECT * FROM mrr_current"),
            "deleted": True,
            "created_by": 1,
            "created_at": when(200),
        },
    ]
    dashboards = [
        {"id": 11, "name": "Finance", "created_by": 1, "created_at": when(120)},
        {"id": 12, "name": "Marketing", "created_by": 2, "created_at": when(70)},
        {"id": 13, "name": "Finance (2025)", "deleted": True, "created_by": 1, "created_at": when(300)},
    ]
    tiles = [
        {"id": 201, "dashboard_id": 11, "insight_id": 101},
        {"id": 202, "dashboard_id": 11, "insight_id": 102},
        {"id": 203, "dashboard_id": 11, "insight_id": 103},
        {"id": 204, "dashboard_id": 11, "insight_id": 104},
        {"id": 205, "dashboard_id": 11, "insight_id": None, "text_id": 1},
        {"id": 206, "dashboard_id": 12, "insight_id": 106},
        {"id": 207, "dashboard_id": 12, "insight_id": 107},
        {"id": 208, "dashboard_id": 13, "insight_id": 105},
    ]
    notebook = {
        "id": str(uuid.uuid5(ns, "notebook:churn")),
        "short_id": "cHuRnDg1",
        "title": "Why did churn jump in March?",
        "created_by": 2,
        "created_at": when(20),
        "content": {
            "type": "doc",
            "content": [
                {
                    "type": "heading",
                    "attrs": {"level": 1},
                    "content": [{"type": "text", "text": "Why did churn jump in March?"}],
                },
                {
                    "type": "ph-query",
                    "attrs": {
                        "nodeId": "churn-trend",
                        "query": {"kind": "SavedInsightNode", "shortId": "cHuRnRt3"},
                    },
                },
                {
                    "type": "paragraph",
                    "content": [{"type": "text", "text": "Churned customers against their lifetime value:"}],
                },
                {
                    "type": "ph-hogql-sql",
                    "attrs": {
                        "code": "SELECT c.month, c.churned_customers, l.ltv FROM churn_monthly AS c "
                        "LEFT JOIN ltv_monthly AS l ON l.month = c.month ORDER BY c.month"
                    },
                },
            ],
        },
    }
    endpoint = {
        "id": str(uuid.uuid5(ns, "endpoint:mrr_api")),
        "name": "mrr_api",
        "created_by": 1,
        "created_at": when(50),
        "current_version": 2,
        "versions": [
            {
                "version": 1,
                "is_active": False,
                "query": {"kind": "HogQLQuery", "query": "SELECT month, mrr FROM mrr_by_month"},
            },
            {
                "version": 2,
                "is_active": True,
                "query": {
                    "kind": "HogQLQuery",
                    "query": "SELECT month, mrr, churn_rate, ltv FROM finance_kpis",
                },
            },
        ],
    }
    alert = {
        "id": str(uuid.uuid5(ns, "alert:reconciliation")),
        "name": "Reconciliation gap above 1%",
        "insight_id": 104,
        "enabled": True,
        "state": "Firing",
    }
    return {
        "insights": insights,
        "dashboards": dashboards,
        "dashboard_tiles": tiles,
        "notebooks": [notebook],
        "endpoints": [endpoint],
        "alerts": [alert],
    }


def _history(
    name: str,
    view_id: str,
    ns: uuid.UUID,
    r: random.Random,
    freq: str,
    health: str,
    n_jobs: int,
    *,
    size: int,
    rows: int,
) -> list[dict[str, Any]]:
    common: dict[str, Any] = {"view_name": name, "view_id": view_id, "ns": ns, "rng": r}
    common.update(sync_frequency=freq, size=size, rows=rows)
    if health == "stale":
        return make_jobs(health="stale", n_jobs=n_jobs, stale_days=9.3, **common)
    if health == "ok":
        return make_jobs(health="ok", n_jobs=n_jobs, **common)
    # Failing: the scheduled run broke this morning and two manual retries failed the same way, so
    # the last success (yesterday's run) is still inside twice the cadence: failing, not stale.
    history = make_jobs(health="ok", n_jobs=n_jobs - 3, now=NOW - timedelta(hours=20), **common)
    starts = (
        NOW - timedelta(hours=5, minutes=12),
        NOW - timedelta(hours=3, minutes=40),
        NOW - timedelta(minutes=55),
    )
    for k, start in enumerate(starts, start=len(history)):
        finished = start + timedelta(seconds=r.randint(4, 9))
        history.append(
            {
                "id": str(uuid.uuid5(ns, f"job:{name}:{k}")),
                "view": name,
                "status": "Failed",
                "rows_materialized": 0,
                "rows_expected": None,
                "error": GHOST_ERROR,
                "created_at": iso(start),
                "last_run_at": iso(finished),
                "workflow_id": f"materialize-view-{view_id}-{start.strftime('%Y%m%d%H%M%S')}",
                "workflow_run_id": str(uuid.uuid5(ns, f"run:{name}:{k}")),
            }
        )
    return history


def _external_jobs(ns: uuid.UUID) -> list[dict[str, Any]]:
    """A week of completed source syncs, for completed_activity."""
    rows: list[dict[str, Any]] = []
    r = random.Random("demo\x1fexternal_jobs")
    for source_type, hour, base in (("Stripe", 2, 1800), ("Hubspot", 3, 240)):
        for day in range(1, 8):
            start = (NOW - timedelta(days=day)).replace(hour=hour, minute=r.randint(0, 20))
            rows.append(_external_row(ns, source_type, start, base, r))
    # The Google Ads sync stopped ten days ago: that is why campaign_spend is stale.
    for day in (10, 11, 12):
        start = (NOW - timedelta(days=day)).replace(hour=4, minute=r.randint(0, 20))
        rows.append(_external_row(ns, "GoogleAds", start, 90, r))
    rows.sort(key=lambda j: (j["created_at"], j["id"]), reverse=True)
    return rows


def _external_row(
    ns: uuid.UUID, source_type: str, start: datetime, base: int, r: random.Random
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(ns, f"external:{source_type}:{iso(start)}")),
        "source_type": source_type,
        "status": "Completed",
        "rows_synced": int(base * r.uniform(0.8, 1.3)),
        "created_at": iso(start),
        "finished_at": iso(start + timedelta(seconds=r.randint(40, 400))),
        "latest_error": None,
        "workflow_run_id": str(uuid.uuid5(ns, f"external-run:{source_type}:{iso(start)}")),
    }


def dumps_fixture(fixture: dict[str, Any]) -> str:
    """The canonical text of a fixture: sorted keys, two-space indent, trailing newline."""
    return json.dumps(fixture, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def load_demo_fixture() -> dict[str, Any]:
    """The bundled demo warehouse fixture (a fresh copy each call)."""
    text = (resources.files("lineage.sim") / "data" / DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``lineage/sim/data/demo.json`` (``python -m lineage.sim.demo [SOURCE_GRAPH]``)."""
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else None
    target = Path(__file__).with_name("data") / DATA_FILE
    write_atomic(target, dumps_fixture(build_demo_fixture(source)))
    target.chmod(0o644)  # package data: readable by whoever installs it
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
