"""Consumer nodes in a snapshot: the insights, dashboards, notebooks, endpoints and alerts that read
warehouse views, as the analyses, reports and renderers read them (how the crawl finds and builds
them is ``lineage.consumers`` and ``lineage.crawl``).

In a snapshot they are ordinary nodes whose ``kind`` is one of
:data:`CONSUMER_KINDS` and whose id cannot collide with an API id (``insight:<short_id>``,
``dashboard:<id>``, ``notebook:<short_id>``, ``endpoint:<name>``, ``alert:<id>``). Edges point from
what is read to the reader: view/table -> insight, insight -> dashboard, insight -> alert,
insight/view -> notebook, view -> endpoint.

``graph.consumers_not_read`` lists the kinds the crawl could not read (a missing scope or access);
``[]`` means every kind was read, and its absence (a snapshot from before consumers were crawled)
means nothing is known about consumers at all. Reports say so instead of implying there are none.

Everything here reads plain attribute dicts, so it works on a ``LineageGraph`` or a bare DiGraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import networkx as nx

from lineage.posthog import CONSUMER_KINDS

__all__ = [
    "CONSUMER_KINDS",
    "CONSUMER_PLURALS",
    "REPORT_ORDER",
    "anchors",
    "consumer_counts",
    "consumer_url",
    "consumers_not_read",
    "consumers_of",
    "hogql_texts",
    "is_consumer",
    "is_deleted_consumer",
    "live",
    "not_read_lines",
    "owner_of_consumer",
    "plural",
]

#: Consumer kinds in the order reports list them (what people look at first).
REPORT_ORDER: Final = ("dashboard", "insight", "alert", "notebook", "endpoint")
CONSUMER_PLURALS: Final = {
    "dashboard": "dashboards",
    "insight": "insights",
    "alert": "alerts",
    "notebook": "notebooks",
    "endpoint": "endpoints",
}
_KIND_SET: Final = frozenset(CONSUMER_KINDS)
# Characters a consumer URL from the snapshot may hold: no quotes, spaces, angle brackets or backslashes.
_SAFE_URL: Final = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+$")


def _g(graph: Any) -> nx.DiGraph:
    inner = getattr(graph, "nx", graph)
    assert isinstance(inner, nx.DiGraph)
    return inner


def is_consumer(attrs: Mapping[str, Any] | None) -> bool:
    """True for an insight, dashboard, notebook, endpoint or alert node (given its attribute dict)."""
    return attrs is not None and attrs.get("kind") in _KIND_SET


def is_deleted_consumer(attrs: Mapping[str, Any] | None) -> bool:
    """A consumer the snapshot keeps but PostHog has deleted: it reads nothing."""
    return is_consumer(attrs) and bool(attrs and attrs.get("deleted"))


def live(g: nx.DiGraph) -> nx.DiGraph:
    """``g`` without deleted consumers (the same object when there are none, so nothing is copied)."""
    dead = [n for n, attrs in g.nodes(data=True) if is_deleted_consumer(attrs)]
    if not dead:
        return g
    view: nx.DiGraph = nx.restricted_view(g, dead, [])
    return view


def plural(kind: str, n: int = 2) -> str:
    """``insight`` / ``insights`` (any other kind gets an ``s``)."""
    if kind in CONSUMER_PLURALS.values():  # already plural
        return kind if n != 1 else kind[:-1]
    if n == 1:
        return kind
    return CONSUMER_PLURALS.get(kind, f"{kind}s")


def consumers_not_read(graph: Any) -> list[str] | None:
    """The consumer kinds the crawl could not read, sorted; None when the snapshot never tried."""
    value = _g(graph).graph.get("consumers_not_read")
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        return None
    return sorted({str(v) for v in value})


def not_read_lines(not_read: Iterable[str] | None) -> list[str]:
    """One line per kind a report cannot vouch for: ``dashboards: not visible to this key``."""
    if not_read is None:
        return [
            "consumers (insights, dashboards, notebooks, endpoints, alerts): not crawled in this snapshot"
        ]
    return [f"{plural(k)}: not visible to this key" for k in sorted(not_read)]


def consumers_of(graph: Any, node: Any) -> dict[Any, int]:
    """Every consumer downstream of ``node`` (directly or through views and other consumers) -> hops."""
    g = live(_g(graph))
    found = nx.single_source_shortest_path_length(g, node)
    return {n: d for n, d in found.items() if n != node and is_consumer(g.nodes[n])}


def anchors(graph: Any, node: Any) -> set[Any]:
    """The nearest non-consumer ancestors of a consumer (the views and tables it reads, through
    the insights it shows); empty when it reads no known view."""
    g = _g(graph)
    seen: set[Any] = {node}
    stack = [node]
    out: set[Any] = set()
    while stack:
        n = stack.pop()
        for p in g.predecessors(n):
            if p in seen:
                continue
            seen.add(p)
            if is_consumer(g.nodes[p]):
                stack.append(p)
            else:
                out.add(p)
    return out


def consumer_counts(kinds: Iterable[str]) -> str:
    """``2 insights, 1 dashboard`` in report order (an empty input gives an empty string)."""
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    order = [k for k in REPORT_ORDER if k in counts] + sorted(set(counts) - _KIND_SET)
    return ", ".join(f"{counts[k]} {plural(k, counts[k])}" for k in order)


def consumer_url(attrs: Mapping[str, Any], base: str | None = None) -> str | None:
    """A consumer's PostHog page from its ``url`` attribute, when it is a plain http(s) URL (and
    under ``base``, the validated ``https://host/project/<id>``, when one is given); else None."""
    url = attrs.get("url")
    if not isinstance(url, str) or not _SAFE_URL.match(url):
        return None
    if base is not None and not url.startswith(base.rstrip("/") + "/"):
        return None
    return url


def owner_of_consumer(attrs: Mapping[str, Any]) -> str | None:
    """The consumer's owner (creator name or email) as the snapshot has it."""
    who = attrs.get("owner")
    if isinstance(who, Mapping):
        for key in ("email", "first_name", "id"):
            if who.get(key) not in (None, ""):
                return str(who[key])
        return None
    if who in (None, ""):
        return None
    return str(who)


def hogql_texts(attrs: Mapping[str, Any]) -> list[str] | None:
    """The HogQL texts a consumer runs (node attribute ``hogql``), or None when the crawl stored none."""
    value = attrs.get("hogql")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return None
    texts = [t for t in value if isinstance(t, str) and t.strip()]
    return sorted(texts) if texts else None
