"""Where the shared real lineage graphs live, for tests, benchmarks and rebuilding the demo fixture.

The project expects ``shared/`` beside its checkout (``<repo>/../shared/data/real_graphs``), as CI
lays it out; ``LINEAGE_REAL_GRAPHS`` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lineage.errors import InputError

ENV = "LINEAGE_REAL_GRAPHS"


def real_graphs_dir() -> Path:
    """The folder of real graphs; a clear error naming what was tried when it is missing."""
    tried: list[Path] = []
    if os.environ.get(ENV):
        tried.append(Path(os.environ[ENV]))
    repo = Path(__file__).resolve().parents[1]
    tried += [
        repo.parent / "shared" / "data" / "real_graphs",
        Path.cwd().parent / "shared" / "data" / "real_graphs",
    ]
    for candidate in tried:
        if (candidate / "README.md").is_file():
            return candidate
    shown = ", ".join(str(p) for p in tried)
    raise InputError(f"the real graphs folder was not found (tried {shown}); set {ENV} to its path")


def real_graph(name: str) -> Path:
    """``real_graph("dbt_tuva")`` → the path of ``dbt_tuva.json``."""
    return real_graphs_dir() / f"{name}.json"


def real_lineage_graph(name: str, *, seed: int = 0) -> Any:
    """A real graph as a crawled snapshot would hold it, for rendering tests and benchmarks.

    Views get UUID ids (as PostHog's saved queries have), their folder from the first directory of
    their dbt path, and made-up but deterministic (``seed``) health: a few materialized, failing,
    running and stale views. Tables keep their name as id, as PostHog's own tables do.
    """
    import json
    import random
    import uuid

    from lineage.graph import LineageGraph

    data = json.loads(real_graph(name).read_text(encoding="utf-8"))
    rng = random.Random(seed)
    graph = LineageGraph(host="https://us.posthog.com", project=1, format="lineage-snapshot/1")
    ids: dict[str, str] = {}
    for node in sorted(data["nodes"], key=lambda n: n["name"]):
        node_name = node["name"]
        if node["kind"] != "view":
            ids[node_name] = node_name
            graph.nx.add_node(node_name, name=node_name, kind="table")
            continue
        node_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"lineage-devdata/{name}/{node_name}"))
        ids[node_name] = node_id
        parts = str(node.get("path", "")).split("/")
        materialized = rng.random() < 0.3
        status = rng.choice(("Completed",) * 6 + ("Failed", "Running")) if materialized else None
        attrs: dict[str, Any] = {
            "name": node_name,
            "kind": "matview" if materialized else "view",
            "folder": parts[1] if len(parts) > 2 else None,
            "is_materialized": materialized,
            "status": status,
            "sync_frequency": "24hour" if materialized else None,
            "latest_error": "Query failed: table not found" if status == "Failed" else None,
        }
        if materialized:
            attrs["jobs"] = {"runs": 10, "failures": int(status == "Failed"), "last_status": status}
            attrs["stale"] = status == "Completed" and rng.random() < 0.05
        graph.nx.add_node(node_id, **attrs)
    for upstream, downstream in data["edges"]:
        graph.nx.add_edge(ids[upstream], ids[downstream])
    return graph
