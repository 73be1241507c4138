"""Parse coverage of lineage.hogql on real SQL.

Target: all 21 real PostHog HogQL views parse with `to_sqlglot` and `extract_tables`, and
`extract_tables` matches the graph's edges. Informative (no target): dbt_tuva SQL with Jinja
replaced: `{{ config(..) }}` removed, `{{ ref('m') }}` -> `m`, `{{ source('s', 't') }}` -> `s.t`,
`{{ type_x() }}` -> `String`, other `{{ }}` -> a dummy identifier, `{% %}` and `{# #}` removed.
dbt SQL is not HogQL, so failures there are expected. Also: the PostHog test corpus of
tests/data/hogql_corpus (target: 100% exact tables; refused tags counted as correct when expected).

    .venv/bin/python benchmarks/hogql_coverage.py [--show N]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter, defaultdict

from lineage.devdata import real_graphs_dir
from lineage.errors import HogQLError
from lineage.hogql import extract_tables, parse_coverage

DATA = real_graphs_dir()

_REF = re.compile(r"\{\{-?\s*ref\(\s*(?:'[^']*'\s*,\s*)?'([^']+)'\s*(?:,[^)]*)?\)\s*-?\}\}")
_SOURCE = re.compile(r"\{\{-?\s*source\(\s*'([^']+)'\s*,\s*'([^']+)'\s*\)\s*-?\}\}")
_CONFIG = re.compile(r"\{\{-?\s*config\(.*?\}\}", re.S)
_TYPE = re.compile(r"\{\{-?\s*(?:dbt\.)?type_\w+\(\s*\)\s*-?\}\}")
_EXPR = re.compile(r"\{\{.*?\}\}", re.S)
_BLOCK = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)


def strip_jinja(sql: str) -> str:
    sql = _CONFIG.sub(" ", _BLOCK.sub(" ", sql))
    sql = _REF.sub(lambda m: f"`{m.group(1)}`", sql)
    sql = _SOURCE.sub(lambda m: f"`{m.group(1)}.{m.group(2)}`", sql)
    sql = _TYPE.sub("String", sql)
    return _EXPR.sub("__jinja__", sql)


def load(name: str) -> tuple[list[tuple[str, str]], dict[str, set[str]]]:
    data = json.loads((DATA / name).read_text())
    parents: dict[str, set[str]] = defaultdict(set)
    for up, down in data["edges"]:
        parents[down].add(up)
    views = [(n["name"], n["sql"]) for n in data["nodes"] if n.get("sql")]
    return views, parents


def report(label: str, views: list[tuple[str, str]], parents: dict[str, set[str]], show: int) -> None:
    sqls = [sql for _, sql in views]
    t0 = time.perf_counter()
    parsed, total, failures = parse_coverage(sqls)
    t1 = time.perf_counter()
    extracted = matched = 0
    reasons: Counter[str] = Counter()
    for name, sql in views:
        try:
            tables = extract_tables(sql)
        except HogQLError as e:
            reasons[str(e.context.get("reason", e.message))[:70]] += 1
            continue
        extracted += 1
        matched += set(tables) == parents[name]
    t2 = time.perf_counter()
    print(f"{label}: {total} views")
    print(f"  to_sqlglot      {parsed:5}/{total} ({100 * parsed / max(total, 1):.1f}%)  {t1 - t0:.2f}s")
    print(f"  extract_tables  {extracted:5}/{total} ({100 * extracted / max(total, 1):.1f}%)  {t2 - t1:.2f}s")
    print(f"    equal to graph edges: {matched}/{total}")
    for index, message in failures[:show]:
        print(f"    to_sqlglot failure [{views[index][0]}]: {message[:150]}")
    for reason, count in reasons.most_common(show):
        print(f"    extract_tables failure x{count}: {reason}")


def corpus_report() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tests" / "data" / "hogql_corpus" / "posthog_tests.json"
    queries = json.loads(path.read_text(encoding="utf-8"))["queries"]
    exact = bridged = 0
    t0 = time.perf_counter()
    for q in queries:
        try:
            got: list[str] | None = extract_tables(q["sql"])
        except HogQLError:
            got = None
        exact += got == (sorted(q["tables"]) if q["tables"] is not None else None)
    t1 = time.perf_counter()
    readable = [q["sql"] for q in queries if q["tables"] is not None]
    bridged, total, _ = parse_coverage(readable)
    t2 = time.perf_counter()
    n = len(queries)
    print(f"PostHog test corpus (target {n}/{n} exact): {n} queries")
    print(f"  extract_tables exact {exact:5}/{n} ({100 * exact / max(n, 1):.1f}%)  {t1 - t0:.2f}s")
    print(f"  to_sqlglot          {bridged:5}/{total} ({100 * bridged / max(total, 1):.1f}%)  {t2 - t1:.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--show", type=int, default=5, help="failures to list per corpus")
    args = ap.parse_args()
    views, parents = load("posthog_revenue_analytics.json")
    report("PostHog HogQL (target 21/21)", views, parents, args.show)
    corpus_report()
    tuva, tuva_parents = load("dbt_tuva.json")
    report(
        "dbt_tuva, Jinja stripped (informative)",
        [(n, strip_jinja(s)) for n, s in tuva],
        tuva_parents,
        args.show,
    )


if __name__ == "__main__":
    main()
