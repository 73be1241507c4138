"""What every renderer shares: the graph-to-scene step, health colours, untrusted-text cleaning, UI links.

A *scene* is the graph as it will be drawn: sorted nodes with short synthetic keys (``n0``, ``f0``,
``u0``...), folder clusters, collapsed folders, "+k more" stubs. Writers (DOT, Mermaid, HTML) only
format a scene, so they agree on what is drawn and never put raw API text into an identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypedDict, Unpack
from urllib.parse import quote, urlsplit

import networkx as nx

from lineage.consumer_nodes import anchors, consumer_counts, consumer_url, is_consumer, owner_of_consumer
from lineage.errors import RenderError, param
from lineage.graph import as_digraph as graph_as_digraph

DEFAULT_MAX_NODES: Final = 500
LABEL_MAX: Final = 60
ERROR_MAX: Final = 300
TOOLTIP_NAME_MAX: Final = 200

# health -> (fill colour, legend text). Only the newest job decides: a view whose last run failed is red
# even if it succeeded before, because that is what needs attention.
HEALTH: Final[dict[str, tuple[str, str]]] = {
    "completed": ("#b9e4a8", "last job Completed"),
    "stale": ("#f6d27a", "stale: no success in 2x its cadence"),
    "failed": ("#f5a3a3", "last job Failed"),
    "running": ("#a9c8f5", "last job Running"),
    "none": ("#e3e3e3", "never run / no jobs"),
}
HEALTH_ORDER: Final = ("completed", "stale", "failed", "running", "none")

KIND_TEXT: Final[dict[str, str]] = {
    "table": "table",
    "view": "view",
    "matview": "materialized view",
    "unknown": "deleted view (ghost) or unknown",
}
KIND_ORDER: Final = ("table", "view", "matview", "unknown")

# render --diff: the mark in front of a changed node's label, and its outline colour.
DIFF_MARK: Final[dict[str, str]] = {"added": "+", "removed": "\u2212", "changed": "~"}
DIFF_COLOR: Final[dict[str, str]] = {"added": "#1a7f37", "removed": "#cf222e", "changed": "#bf8700"}
# Consumers (lineage.consumer_nodes): drawn with shapes of their own, in one fill, and only in the legend
# of a drawing that has some. "consumers" is a fold: "+3 insights, 1 dashboard" standing for the
# consumers of one view.
CONSUMER_TEXT: Final[dict[str, str]] = {
    "insight": "insight",
    "dashboard": "dashboard",
    "notebook": "notebook",
    "endpoint": "endpoint",
    "alert": "alert",
    "consumers": "folded consumers",
}
KIND_TEXT.update(CONSUMER_TEXT)
CONSUMER_ORDER: Final = ("insight", "dashboard", "alert", "notebook", "endpoint", "consumers")
CONSUMER_FILL: Final = "#e9e0f7"
HEALTH["consumer"] = (CONSUMER_FILL, "insight, dashboard, notebook, endpoint or alert")
#: Consumers are folded into "+N insights" per view when the drawing has more nodes than this
#: (fold_consumers=None); True or False force it.
FOLD_CONSUMERS_ABOVE: Final = 40

# Legend entries, in drawing order: one drawn node each.
LEGEND_ITEMS: Final[tuple[tuple[str, str], ...]] = tuple(("kind", k) for k in KIND_ORDER) + tuple(
    ("health", h) for h in HEALTH_ORDER
)


def legend_items(scene: Scene) -> tuple[tuple[str, str], ...]:
    """The legend for a scene: every view kind and health, then the consumer kinds it draws."""
    present = {sn.kind for sn in scene.nodes}
    return LEGEND_ITEMS + tuple(("kind", k) for k in CONSUMER_ORDER if k in present)


# Controls (XML forbids most) and the bidi embeddings/overrides/isolates that reorder what a reader sees.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NETLOC = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


def as_digraph(graph: Any) -> nx.DiGraph:
    """Accept a ``LineageGraph`` (anything with ``.nx``) or a bare ``networkx.DiGraph``."""
    return graph_as_digraph(graph, error=RenderError, doing="draw")


def check_size(g: nx.DiGraph, max_nodes: int | None) -> None:
    """Refuse graphs too large to draw legibly, pointing at selectors."""
    check_size_count(g.number_of_nodes(), max_nodes)


def check_size_count(n: int, max_nodes: int | None) -> None:
    """Refuse drawings of more than ``max_nodes`` boxes, pointing at selectors."""
    if max_nodes is not None and n > max_nodes:
        chain, folder = param("select", "'+mrr_by_month+'"), param("select", "'folder:Finance'")
        raise RenderError(
            f"the graph has {n} nodes, more than the drawing limit of {max_nodes}; draw a part of it with a "
            f"selector (e.g. {chain} or {folder}), collapse folders with "
            f"{param('collapse_folders', 'NAME')}, or raise the limit with {param('max_nodes', 'N')}"
        )


def clean(text: Any) -> str:
    """Text safe for any output: no control characters, bidi overrides or lone surrogates."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    s = _SURROGATE.sub("\ufffd", s)
    return _CONTROL.sub("\ufffd", s)


def one_line(text: Any) -> str:
    """Clean text folded onto one line (labels never break on data)."""
    return " ".join(clean(text).split("\n"))


def truncate(text: str, limit: int) -> str:
    """Cut to ``limit`` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "\u2026"


def health(attrs: Mapping[str, Any]) -> str:
    """``completed`` / ``stale`` / ``failed`` / ``running`` / ``none`` from the newest job of a node.

    A failed or running newest job wins; a view whose newest job completed but whose snapshot says
    it is stale (no success within twice its cadence at crawl time) is ``stale``.
    """
    jobs = attrs.get("jobs")
    last = jobs.get("last_status") if isinstance(jobs, Mapping) else None
    key = last.strip().lower() if isinstance(last, str) else "none"
    key = key if key in ("completed", "failed", "running") else "none"
    if key in ("completed", "none") and attrs.get("stale") is True:
        return "stale"
    return key


def kind_of(attrs: Mapping[str, Any]) -> str:
    kind = attrs.get("kind")
    return kind if isinstance(kind, str) and kind in KIND_TEXT else "unknown"


def base_url(graph_attrs: Mapping[str, Any]) -> str | None:
    """``https://host/project/<team>`` from the graph attributes, or None when unusable.

    The host comes from configuration, the project from the snapshot; both are validated, never
    pasted, because the result lands in SVG ``href`` attributes that Graphviz does not escape.
    """
    host = graph_attrs.get("host")
    project = graph_attrs.get("project")
    if host is None or project is None:
        return None
    raw = str(host).strip()
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not _NETLOC.match(parts.netloc or ""):
        return None
    return f"{parts.scheme}://{parts.netloc}/project/{quote(str(project), safe='')}"


def view_url(base: str | None, node_id: Any, kind: str) -> str | None:
    """The PostHog SQL editor link for a saved query (views and materialized views only)."""
    if base is None or kind not in ("view", "matview"):
        return None
    return f"{base}/sql?open_view={quote(str(node_id), safe='')}"


def _fmt(value: Any) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, float):
        return f"{value:.1f}"
    return one_line(value)


def details(node_id: Any, attrs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (field, value) pairs shown in tooltips and the HTML details panel, all cleaned."""
    kind = kind_of(attrs)
    rows: list[tuple[str, str]] = [
        ("name", truncate(one_line(attrs.get("name", node_id)), TOOLTIP_NAME_MAX)),
        ("id", truncate(one_line(node_id), TOOLTIP_NAME_MAX)),
        ("kind", KIND_TEXT[kind] + (" (not in the crawl)" if attrs.get("ghost") else "")),
    ]
    if attrs.get("folder"):
        rows.append(("folder", truncate(one_line(attrs["folder"]), TOOLTIP_NAME_MAX)))
    if is_consumer(attrs):
        owner = owner_of_consumer(attrs)
        if owner:
            rows.append(("owner", truncate(one_line(owner), TOOLTIP_NAME_MAX)))
        if attrs.get("deleted"):
            rows.append(("deleted", "yes"))
    if kind in ("view", "matview") or "status" in attrs:
        rows.append(("status", _fmt(attrs.get("status"))))
        rows.append(("last run", _fmt(attrs.get("last_run_at"))))
    if attrs.get("sync_frequency"):
        rows.append(("sync", _fmt(attrs.get("sync_frequency"))))
    jobs = attrs.get("jobs")
    if isinstance(jobs, Mapping):
        rows.append(
            (
                "jobs",
                f"{_fmt(jobs.get('runs'))} runs, {_fmt(jobs.get('failures'))} failures, "
                f"last {_fmt(jobs.get('last_status'))}",
            )
        )
        rows.append(("last success", _fmt(jobs.get("last_success_at"))))
        rows.append(("median duration s", _fmt(jobs.get("median_duration_s"))))
        rows.append(("rows last run", _fmt(jobs.get("rows_last"))))
    err = attrs.get("latest_error")
    if err:
        rows.append(("latest error", truncate(clean(err).strip(), ERROR_MAX)))
    # the newest PostHog's flags
    if attrs.get("suspended"):
        rows.append(("suspended", "yes: PostHog stopped its schedule after repeated failures"))
    if attrs.get("is_incremental"):
        rows.append(("incremental", "yes"))
    if attrs.get("is_test"):
        rows.append(("test view", f"expires {_fmt(attrs.get('expires_at'))}"))
    return rows


def marks(attrs: Mapping[str, Any]) -> str:
    """Label suffix for the newest PostHog's states a diagram must show: suspended, test view."""
    out = ""
    if attrs.get("suspended"):
        out += " [suspended]"
    if attrs.get("is_test"):
        out += " [test]"
    return out


def tooltip(node_id: Any, attrs: Mapping[str, Any]) -> str:
    """Multi-line tooltip text (cleaned, not yet escaped for any format)."""
    return "\n".join(f"{k}: {v}" for k, v in details(node_id, attrs))


@dataclass(frozen=True)
class SceneNode:
    """One drawn box. ``role`` is ``node`` (a graph node), ``folder`` (collapsed) or ``stub``."""

    key: str
    role: str
    label: str
    kind: str = "unknown"
    health: str = "none"
    node_id: Any = None
    cluster: str | None = None
    tooltip: str = ""
    url: str | None = None
    focus: bool = False
    ghost: bool = False
    count: int = 0
    change: str | None = None  # added / removed / changed when drawing a diff (render --diff)
    # a fold of consumers: (kind, name, url or "") of each consumer it stands for
    members: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class SceneEdge:
    tail: str
    head: str
    stub: bool = False
    change: str | None = None  # added / removed when drawing a diff


@dataclass
class Scene:
    nodes: list[SceneNode] = field(default_factory=list)
    edges: list[SceneEdge] = field(default_factory=list)
    # cluster key -> folder title, in drawing order
    clusters: dict[str, str] = field(default_factory=dict)
    # original node id -> scene key of the box that stands for it
    key_of: dict[Any, str] = field(default_factory=dict)
    graph_attrs: dict[str, Any] = field(default_factory=dict)


def _sort_key(node_id: Any) -> tuple[str, str]:
    return (type(node_id).__name__, str(node_id))


def resolve_focus(g: nx.DiGraph, focus: Iterable[Any]) -> set[Any]:
    """Focus entries may be node ids or names; an unknown one is an error quoting it."""
    by_name: dict[str, list[Any]] = {}
    for n, attrs in g.nodes(data=True):
        by_name.setdefault(str(attrs.get("name", n)), []).append(n)
    out: set[Any] = set()
    for item in focus:
        if item in g:
            out.add(item)
        elif str(item) in by_name:
            out.update(by_name[str(item)])
        else:
            raise RenderError(f"focus node {truncate(one_line(item), 80)!r} is not in the graph being drawn")
    return out


def _folder(attrs: Mapping[str, Any]) -> str | None:
    f = attrs.get("folder")
    if f is None or f == "":
        return None
    return one_line(f) or None


def _count(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


#: Layout directions every renderer accepts (Graphviz's rankdir, Mermaid's direction).
RANKDIRS: Final = ("LR", "TB", "RL", "BT")


@dataclass(frozen=True)
class RenderOptions:
    """What every renderer is asked for, beside the graph (the keywords of ``to_svg``, ``to_dot``...).

    ``focus``: nodes drawn thick (ids or names); ``rankdir``: one of RANKDIRS; ``clusters``: a box per
    folder; ``collapse_folders``: folders drawn as one node; ``links``: nodes link to PostHog;
    ``max_nodes``: refuse bigger drawings (None: no limit); ``fold_consumers``: draw the insights,
    dashboards... of each view as one "+N insights" box (None: only when the graph has more than
    FOLD_CONSUMERS_ABOVE nodes). ``focus`` and ``collapse_folders`` are kept as tuples.
    """

    focus: Iterable[Any] = ()
    rankdir: str = "LR"
    clusters: bool = True
    collapse_folders: Iterable[str] = ()
    links: bool = True
    max_nodes: int | None = DEFAULT_MAX_NODES
    fold_consumers: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "focus", tuple(self.focus))
        object.__setattr__(self, "collapse_folders", tuple(self.collapse_folders))


class RenderKeywords(TypedDict, total=False):
    """:class:`RenderOptions` as keywords, as every renderer takes them (``to_dot(g, focus=["orders"])``)."""

    focus: Iterable[Any]
    rankdir: str
    clusters: bool
    collapse_folders: Iterable[str]
    links: bool
    max_nodes: int | None
    fold_consumers: bool | None


def build_scene(
    graph: Any, options: RenderOptions | None = None, **keywords: Unpack[RenderKeywords]
) -> Scene:
    """Turn a lineage graph into a sorted, drawable scene (see the module docstring).

    ``options`` (or the same names as keywords, which override it) as :class:`RenderOptions`.
    ``rankdir`` is only checked here, so that every renderer refuses a bad one with one message.
    """
    opts = replace(options or RenderOptions(), **keywords) if keywords else (options or RenderOptions())
    focus, clusters, collapse_folders = opts.focus, opts.clusters, opts.collapse_folders
    links, max_nodes, rankdir, fold_consumers = opts.links, opts.max_nodes, opts.rankdir, opts.fold_consumers
    if rankdir not in RANKDIRS:
        raise RenderError(f"rankdir {rankdir!r} is not one of {', '.join(RANKDIRS)}")
    full = as_digraph(graph)
    consumers = sorted((n for n in full if is_consumer(full.nodes[n])), key=_sort_key)
    if fold_consumers is None:
        fold_consumers = full.number_of_nodes() > FOLD_CONSUMERS_ABOVE
    fold = bool(consumers) and fold_consumers
    g = full.subgraph(n for n in full if not is_consumer(full.nodes[n])) if fold else full
    folds: dict[Any, list[Any]] = {}
    if fold:
        for c in consumers:
            for a in sorted(anchors(full, c), key=_sort_key) or [None]:
                folds.setdefault(a, []).append(c)
    check_size_count(g.number_of_nodes() + len(folds), max_nodes)
    focus_ids = resolve_focus(full, focus)
    collapse = {one_line(c) for c in collapse_folders}
    base = base_url(g.graph) if links else None
    scene = Scene(graph_attrs=dict(g.graph))

    ordered = sorted(g.nodes, key=_sort_key)
    folders = sorted({f for n in ordered if (f := _folder(g.nodes[n])) is not None})
    unknown = sorted(collapse - set(folders))
    if unknown:
        raise RenderError(
            f"{param('collapse_folders', repr(unknown[0]))} names no folder of the drawn nodes; folders: "
            + (", ".join(repr(truncate(f, 40)) for f in folders[:20]) or "none")
        )
    cluster_of = {f: f"cluster_{i}" for i, f in enumerate(folders)}
    if clusters:
        for f in folders:
            if f not in collapse:
                scene.clusters[cluster_of[f]] = f

    folder_members: dict[str, list[Any]] = {}
    for n in ordered:
        f = _folder(g.nodes[n])
        if f is not None and f in collapse:
            folder_members.setdefault(f, []).append(n)
    folder_key = {f: f"f{i}" for i, f in enumerate(sorted(folder_members))}
    for f, members in sorted(folder_members.items()):
        healths = {health(g.nodes[m]) for m in members}
        # the folder shows its most alarming member
        worst = next((h for h in ("failed", "running", "completed") if h in healths), "none")
        names = ", ".join(truncate(one_line(g.nodes[m].get("name", m)), 40) for m in members[:10])
        more = f" and {len(members) - 10} more" if len(members) > 10 else ""
        scene.nodes.append(
            SceneNode(
                key=folder_key[f],
                role="folder",
                label=f"{truncate(f, LABEL_MAX)}\n({len(members)} nodes)",
                kind="folder",
                health=worst,
                tooltip=f"folder: {truncate(f, TOOLTIP_NAME_MAX)}\n{len(members)} nodes: {names}{more}",
                focus=any(m in focus_ids for m in members),
                count=len(members),
            )
        )
        for m in members:
            scene.key_of[m] = folder_key[f]

    for i, n in enumerate(ordered):
        if n in scene.key_of:
            continue
        attrs = g.nodes[n]
        kind = kind_of(attrs)
        f = _folder(attrs)
        key = f"n{i}"
        scene.key_of[n] = key
        change = attrs.get("diff") if attrs.get("diff") in DIFF_MARK else None
        label = truncate(one_line(attrs.get("name", n)), max(8, LABEL_MAX - len(marks(attrs)))) + marks(attrs)
        scene.nodes.append(
            SceneNode(
                key=key,
                role="node",
                label=f"{DIFF_MARK[change]} {label}" if change else label,
                change=change,
                kind=kind,
                health="consumer" if is_consumer(attrs) else health(attrs),
                node_id=n,
                cluster=cluster_of[f] if clusters and f is not None else None,
                tooltip=tooltip(n, attrs),
                url=(
                    consumer_url(attrs, base)
                    if is_consumer(attrs) and base is not None
                    else view_url(base, n, kind)
                    if not attrs.get("ghost")
                    else None
                ),
                focus=n in focus_ids,
                ghost=bool(attrs.get("ghost")),
            )
        )

    fold_edges: set[tuple[str, str]] = set()
    if fold:
        _add_folds(full, scene, folds, base, focus_ids, fold_edges)

    order = {sn.key: i for i, sn in enumerate(scene.nodes)}
    edges: dict[tuple[str, str], str | None] = {}
    for u, v, eattrs in g.edges(data=True):
        pair = (scene.key_of[u], scene.key_of[v])
        mark = eattrs.get("diff") if eattrs.get("diff") in DIFF_MARK else None
        # Collapsed folders merge edges: an unchanged one wins over a changed one, added over removed.
        if pair not in edges or mark is None or (edges[pair] == "removed" and mark == "added"):
            edges[pair] = mark
    for pair in fold_edges:
        edges.setdefault(pair, None)
    for (tail, head), mark in sorted(edges.items(), key=lambda e: (order[e[0][0]], order[e[0][1]])):
        if tail != head:
            scene.edges.append(SceneEdge(tail, head, change=mark))

    # "+k more" stubs: a depth limit cut the graph here. Collapsed members add up on their folder.
    up: dict[str, int] = {}
    down: dict[str, int] = {}
    for n in ordered:
        key = scene.key_of[n]
        up[key] = up.get(key, 0) + _count(g.nodes[n].get("more_upstream"))
        down[key] = down.get(key, 0) + _count(g.nodes[n].get("more_downstream"))
    for sn in list(scene.nodes):
        for direction, counts in (("u", up), ("d", down)):
            k = counts.get(sn.key, 0)
            if k <= 0:
                continue
            stub_key = f"{direction}{sn.key}"
            where = "upstream" if direction == "u" else "downstream"
            scene.nodes.append(
                SceneNode(
                    key=stub_key,
                    role="stub",
                    label=f"+{k} more",
                    tooltip=f"{k} more {where} nodes beyond the depth limit",
                    cluster=sn.cluster,
                    count=k,
                )
            )
            if direction == "u":
                scene.edges.append(SceneEdge(stub_key, sn.key, stub=True))
            else:
                scene.edges.append(SceneEdge(sn.key, stub_key, stub=True))
    return scene


def _add_folds(
    full: nx.DiGraph,
    scene: Scene,
    folds: dict[Any, list[Any]],
    base: str | None,
    focus_ids: set[Any],
    fold_edges: set[tuple[str, str]],
) -> None:
    """One "+N insights" box per drawn box whose views consumers read (a consumer reading two views
    is counted at each); consumers that read no drawn view share one box."""
    by_box: dict[str | None, dict[Any, None]] = {}
    for anchor, members in folds.items():
        box = scene.key_of.get(anchor) if anchor is not None else None
        by_box.setdefault(box, {}).update(dict.fromkeys(members))
    order = {sn.key: i for i, sn in enumerate(scene.nodes)}
    for box in sorted(by_box, key=lambda b: (b is None, order.get(b or "", 0))):
        members = sorted(by_box[box], key=lambda c: (str(full.nodes[c].get("kind")), _sort_key(c)))
        kinds = [str(full.nodes[c].get("kind")) for c in members]
        rows = []
        for c in members:
            attrs = full.nodes[c]
            name = truncate(one_line(attrs.get("name", c)), TOOLTIP_NAME_MAX)
            url = (consumer_url(attrs, base) if base is not None else None) or ""
            rows.append((str(attrs.get("kind")), name, url))
        key = f"c{box}" if box is not None else "c_other"
        shown = [f"{k}: {truncate(n, 60)}" for k, n, _ in rows[:15]]
        more = [f"and: {len(rows) - 15} more"] if len(rows) > 15 else []
        owner = scene.nodes[order[box]] if box is not None else None
        scene.nodes.append(
            SceneNode(
                key=key,
                role="consumers",
                label="+" + consumer_counts(kinds),
                kind="consumers",
                health="consumer",
                tooltip="\n".join(
                    [f"consumers of: {owner.label if owner else 'no drawn view'}", *shown, *more]
                ),
                cluster=owner.cluster if owner is not None else None,
                focus=any(c in focus_ids for c in members),
                count=len(members),
                members=tuple(rows),
            )
        )
        for c in members:
            scene.key_of.setdefault(c, key)
        if box is not None:
            fold_edges.add((box, key))
