"""A focused crawl's selection: seeds and depths from a ``--select`` selector, the closure they span,
and its boundary, where "+k more" is recorded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from lineage.api import SavedQuery
from lineage.crawl.state import CrawlState
from lineage.errors import SelectorError, param
from lineage.graph import LineageGraph
from lineage.select import Intersection as SelectorIntersection
from lineage.select import Union as SelectorUnion
from lineage.select import evaluate as evaluate_selector
from lineage.select import parse as parse_selector

__all__ = ["Seed", "boundaries", "closure_from_edges", "drop_dotted_prefixes", "parse_seeds"]

Seed = tuple[str, int | None, int | None]
"""A seed view's id with its upstream and downstream depths (``None`` for unlimited)."""


_SNAPSHOT_HINT = "run \"lineage ls --select '*'\" to list the names in the snapshot"


def parse_seeds(
    selector: str, views: Mapping[str, SavedQuery], *, upstream: int | None, downstream: int | None
) -> list[Seed]:
    """Seeds and their depths from a selector, in the grammar of ``lineage ls`` (one parser).

    Names, globs and methods are matched against the views list; graph operators give the
    depths (``2+name+1``); a term without operators takes --upstream/--downstream. In a crawl
    ``@name`` walks both ways fully; ``lineage ls`` applies dbt's exact ``@`` on the snapshot.
    """
    tree = parse_selector(selector, label=f"{param('select')} selector")
    listed = LineageGraph()
    for vid, view in views.items():
        listed.add_node(
            vid,
            name=view.name,
            kind="matview" if view.is_materialized else "view",
            folder=view.folder_name,
            status=view.status,
            is_materialized=view.is_materialized,
        )
    out: dict[str, tuple[int | None, int | None]] = {}
    for part in tree.parts:
        bare = tuple(replace(a, at=False, parents=False, children=False) for a in part.atoms)
        try:
            hits = evaluate_selector(
                listed, SelectorUnion((SelectorIntersection(bare),), tree.text, tree.label)
            )
        except SelectorError as exc:
            # A crawl matches names against PostHog's list, not a snapshot (which may not exist
            # yet): point there instead (issue 14, item 4).
            raise SelectorError(
                str(exc).replace(
                    _SNAPSHOT_HINT, f"none of the {len(views)} saved queries PostHog lists has that name"
                )
            ) from None
        up: int | None = 0
        down: int | None = 0
        if any(a.at for a in part.atoms):
            up, down = None, None
        elif any(a.parents or a.children for a in part.atoms):
            ups = [a.parents_depth for a in part.atoms if a.parents]
            downs = [a.children_depth for a in part.atoms if a.children]
            up = (None if None in ups else max(d for d in ups if d is not None)) if ups else 0
            down = (None if None in downs else max(d for d in downs if d is not None)) if downs else 0
        else:
            up, down = upstream, downstream
        for h in sorted(hits):
            # A view picked by several terms ('+x x+') gets the deepest reach of each direction.
            old_up, old_down = out.get(h, (0, 0))
            out[h] = (_deeper(old_up, up), _deeper(old_down, down))
    return [(k, *v) for k, v in sorted(out.items())]


def _deeper(a: int | None, b: int | None) -> int | None:
    """The farther of two depths, where None is unlimited."""
    if a is None or b is None:
        return None
    return max(a, b)


def closure_from_edges(parents: Mapping[str, list[str]], seeds: list[Seed]) -> set[str]:
    """The seeds and everything within their depths, over edges already crawled."""
    import networkx as nx

    g = nx.DiGraph()
    for child, ps in parents.items():
        g.add_node(child)
        for p in ps:
            g.add_edge(p, child)
    keep: set[str] = set()
    for view_id, up, down in seeds:
        keep.add(view_id)
        if up != 0:
            keep |= set(nx.single_source_shortest_path_length(g.reverse(copy=False), view_id, cutoff=up))
        if down != 0:
            keep |= set(nx.single_source_shortest_path_length(g, view_id, cutoff=down))
    return keep


def drop_dotted_prefixes(parents: Mapping[str, list[str]], closure: set[str]) -> set[str]:
    """The closure from ancestors/descendants calls, in the names the level-1 edges use."""
    # Prefix labels of dotted PostHog tables come back from deep ancestor calls: drop them.
    dotted_prefixes = {part for ps in parents.values() for p in ps if "." in p for part in p.split(".")[:-1]}
    closure = closure - dotted_prefixes
    renamed = {p.split(".")[-1]: p for ps in parents.values() for p in ps if "." in p}
    return {renamed.get(m, m) for m in closure}


def boundaries(state: CrawlState, seeds: list[Seed], members: set[str]) -> set[str]:
    """Record "+k more" where the closure stops: parents left out, and children beyond the depth.

    Parents left out are counted here; the views at a seed's downstream depth are returned, for
    their children beyond it to be counted (by ``dependencies`` where the whole graph is not known).
    """
    for child in sorted(members):
        outside = [p for p in state.parents.get(child, []) if p not in members]
        if outside:
            state.more_upstream[child] = len(outside)
    downstream_edge: set[str] = set()
    import networkx as nx

    g = nx.DiGraph()
    for child, ps in state.parents.items():
        for p in ps:
            if p in members and child in members:
                g.add_edge(p, child)
    for view_id, _, down in seeds:
        if down is None or down == 0:
            continue
        if view_id not in g:
            continue
        dist = nx.single_source_shortest_path_length(g, view_id, cutoff=down)
        downstream_edge |= {n for n, d in dist.items() if d == down and n in state.views}
    return downstream_edge
