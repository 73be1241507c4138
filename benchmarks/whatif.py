"""Time what-if impact (`lineage impact VIEW --sql NEW.sql`) on a real warehouse's HogQL.

dbt_tuva's 1,200 views (Jinja stripped as in hogql_coverage.py) with their lineage edges: for the views
with the most descendants, drop the first output column (readers break, and so does all below them)
and, separately, change its expression (every reader's SQL is read to follow the change down).

    .venv/bin/python benchmarks/whatif.py [--views N]

Target: each what-if under 10 s (a CI job guarding one SQL change waits for it); no crash.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import networkx as nx
from hogql_coverage import strip_jinja  # benchmarks/hogql_coverage.py
from sqlglot import exp

from lineage.analysis.whatif import whatif
from lineage.devdata import real_graphs_dir
from lineage.errors import HogQLError
from lineage.hogql import to_sqlglot

TARGET_S = 10.0


def load() -> nx.DiGraph:
    data = json.loads((real_graphs_dir() / "dbt_tuva.json").read_text())
    g = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    for n in data["nodes"]:
        attrs = {"name": n["name"], "kind": "view" if n.get("sql") else "table"}
        if n.get("sql"):
            attrs["sql"] = strip_jinja(n["sql"])
        g.add_node(n["name"], **attrs)
    g.add_edges_from((u, v) for u, v in data["edges"])
    return g


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, default=5, help="what-ifs to run (widest blast radius first)")
    args = ap.parse_args()
    g = load()
    ranked = sorted(
        (n for n, a in g.nodes(data=True) if "sql" in a), key=lambda n: (-len(nx.descendants(g, n)), n)
    )
    worst = 0.0
    ran = 0
    print(f"dbt_tuva: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
    print(f"{'view':50} {'downstream':>10} {'seconds':>8}  verdicts")
    for name in ranked:
        if ran >= args.views:
            break
        try:
            tree = to_sqlglot(g.nodes[name]["sql"])
        except HogQLError:
            continue
        if not isinstance(tree, exp.Select) or len(tree.expressions) < 2:
            continue
        first = tree.expressions[0]
        changed = tree.copy()
        target = changed.expressions[0]
        inner = target.this if isinstance(target, exp.Alias) else target
        wrapped = exp.Anonymous(this="toString", expressions=[inner.copy()])
        changed.expressions[0].replace(exp.alias_(wrapped, first.alias_or_name))
        tree.set("expressions", tree.expressions[1:])
        for edit, new_sql in (("drop", tree.sql("clickhouse")), ("change", changed.sql("clickhouse"))):
            started = time.perf_counter()
            report = whatif(g, name, new_sql)
            took = time.perf_counter() - started
            worst = max(worst, took)
            counts = Counter(v.verdict for v in report.verdicts.values())
            label = f"{name[:42]} {edit}"
            print(f"{label:50} {len(report.verdicts):>10} {took:>8.2f}  {dict(sorted(counts.items()))}")
        ran += 1
    met = ran > 0 and worst < TARGET_S
    print(f"target: every what-if < {TARGET_S:.0f} s (slowest {worst:.2f} s): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
