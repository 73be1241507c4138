"""Synthetic warehouses of any size, for the scale benchmark and its output-equality test.

:func:`warehouse` returns a graph in the ``shared/data/real_graphs`` format that
:func:`lineage.sim.generate.fixture_from_graph` turns into a simulator fixture (which writes each
view's HogQL, materialization, jobs and folders). Deterministic: the same arguments give the same graph.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["warehouse"]


def warehouse(views: int, tables: int, *, seed: int = 16) -> dict[str, Any]:
    """``tables`` tables and ``views`` views with 1-4 parents each.

    Each view reads mostly from the views shortly before it (a deep, wide DAG like a real warehouse's
    staging -> marts layers, about 400 views back on average) and sometimes from a table.
    """
    if views < 0 or tables < 1:
        raise ValueError(f"a warehouse needs views >= 0 and tables >= 1, got {views} and {tables}")
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = [{"name": f"raw_{i:04d}", "kind": "table"} for i in range(tables)]
    names = [n["name"] for n in nodes]
    edges: list[list[str]] = []
    for i in range(views):
        name = f"v_{i:06d}"
        want = min(rng.choice((1, 1, 2, 2, 3, 4)), tables + i)
        parents: set[str] = set()
        while len(parents) < want:
            if i == 0 or rng.random() < 0.15:
                parents.add(names[rng.randrange(tables)])
            else:
                parents.add(names[tables + max(0, i - 1 - int(rng.expovariate(1 / 400)))])
        nodes.append({"name": name, "kind": "view"})
        edges.extend([p, name] for p in sorted(parents))
        names.append(name)
    return {"source": f"synthetic warehouse, seed {seed}", "nodes": nodes, "edges": edges}
