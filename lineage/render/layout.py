"""A small deterministic layered (Sugiyama-style) layout, so diagrams can be drawn without Graphviz.

Steps: break cycles by reversing the DFS back edges, put every node on the layer of its longest path
from a root (sources then move next to their first consumer), split long edges with invisible dummy
points, order each layer with barycenter sweeps (folder members kept together, ties broken by a
stable order), then place nodes along each layer as close to their neighbours as the spacing allows
(an exact least-squares fit under the no-overlap constraints). Edges become cubic Bezier curves.

It is geometry only: sizes come in, boxes, curves and folder rectangles come out. Coordinates are
points with the origin at the top left, ready for SVG.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final

from lineage.errors import RenderError
from lineage.render.common import RANKDIRS

MARGIN: Final = 8.0
RANK_SEP: Final = 56.0
NODE_SEP: Final = 16.0
DUMMY_SEP: Final = 6.0
# Extra room between neighbours of different folders, so each folder's rectangle and title fit.
CLUSTER_GAP: Final = 28.0
CLUSTER_PAD: Final = 8.0
CLUSTER_TITLE: Final = 16.0
ARROW_LEN: Final = 7.0
ARROW_HALF: Final = 3.5
SWEEPS: Final = 4
PLACEMENT_ROUNDS: Final = 6

Point = tuple[float, float]


@dataclass(frozen=True)
class LNode:
    """A box to place: its key, size in points and folder (None for none)."""

    key: str
    width: float
    height: float
    cluster: str | None = None


@dataclass(frozen=True)
class Box:
    """A placed box, by its centre and size."""

    x: float
    y: float
    w: float
    h: float

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2

    @property
    def top(self) -> float:
        return self.y - self.h / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h / 2

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )


@dataclass(frozen=True)
class Route:
    """One edge: cubic segments ``(start, control1, control2, end)`` and an arrowhead triangle."""

    tail: str
    head: str
    segments: tuple[tuple[Point, Point, Point, Point], ...]
    arrow: tuple[Point, Point, Point] | None
    reversed: bool


@dataclass
class Layout:
    width: float
    height: float
    boxes: dict[str, Box]
    routes: list[Route]
    layer_of: dict[str, int]
    # folder key -> rectangle, or None when its members are too scattered for one clean rectangle
    clusters: dict[str, Box | None] = field(default_factory=dict)


def _break_cycles(n: int, succ: list[list[int]], indeg: list[int]) -> set[tuple[int, int]]:
    """Back edges of a DFS that starts from the sources (then any unvisited node), in index order."""
    state = [0] * n  # 0 unseen, 1 on the DFS stack, 2 finished
    back: set[tuple[int, int]] = set()
    starts = [v for v in range(n) if indeg[v] == 0] + list(range(n))
    for root in starts:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            v, it = stack[-1]
            for w in it:
                if state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(succ[w])))
                    break
                if state[w] == 1:
                    back.add((v, w))
            else:
                state[v] = 2
                stack.pop()
    return back


def _layers(n: int, dag: list[tuple[int, int]]) -> list[int]:
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for u, v in dag:
        succ[u].append(v)
        pred[v].append(u)
        indeg[v] += 1
    layer = [0] * n
    heap = [v for v in range(n) if indeg[v] == 0]
    heapq.heapify(heap)
    topo: list[int] = []
    while heap:
        v = heapq.heappop(heap)
        topo.append(v)
        for w in succ[v]:
            layer[w] = max(layer[w], layer[v] + 1)
            indeg[w] -= 1
            if indeg[w] == 0:
                heapq.heappush(heap, w)
    # A source drawn far from its only reader makes a long edge for nothing: pull it next to the
    # nearest one. Its readers all have predecessors, so their layers no longer move.
    for v in topo:
        if not pred[v] and succ[v]:
            layer[v] = min(layer[w] for w in succ[v]) - 1
    return layer


def _pava(targets: list[float]) -> list[float]:
    """The non-decreasing sequence closest (least squares) to ``targets``: pool adjacent violators."""
    blocks: list[list[float]] = []  # [mean, count]
    for t in targets:
        blocks.append([t, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks[-1]
            blocks[-1] = [(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2]
    out: list[float] = []
    for mean, count in blocks:
        out.extend([mean] * int(count))
    return out


def layout(
    nodes: Sequence[LNode],
    edges: Sequence[tuple[str, str]],
    *,
    rankdir: str = "LR",
    arrowless: Collection[tuple[str, str]] = (),
) -> Layout:
    """Place ``nodes`` and route ``edges`` (tail key, head key), flowing in the ``rankdir`` direction.

    Edges in ``arrowless`` run right up to their head and get no arrowhead.
    """
    if rankdir not in RANKDIRS:
        raise RenderError(f"rankdir {rankdir!r} is not one of {', '.join(RANKDIRS)}")
    index = {nd.key: i for i, nd in enumerate(nodes)}
    if len(index) != len(nodes):
        raise RenderError("cannot lay out the graph: two boxes share a key")
    n = len(nodes)
    horizontal = rankdir in ("LR", "RL")
    # "thick" is the size along the flow, "broad" across it
    thick = [nd.width if horizontal else nd.height for nd in nodes]
    broad = [nd.height if horizontal else nd.width for nd in nodes]
    cluster: list[str | None] = [nd.cluster for nd in nodes]

    pairs = sorted({(index[t], index[h]) for t, h in edges if t != h})
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for u, v in pairs:
        succ[u].append(v)
        indeg[v] += 1
    back = _break_cycles(n, succ, indeg)
    dag_of = {(u, v): ((v, u) if (u, v) in back else (u, v)) for u, v in pairs}
    layer = _layers(n, sorted(set(dag_of.values())))
    low = min(layer, default=0)
    layer = [x - low for x in layer]

    # Long edges run through one dummy point per layer they cross; dummies are items n, n+1, ...
    chains: dict[tuple[int, int], list[int]] = {}
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    for (u, v), (a, b) in sorted(dag_of.items()):
        chain = [a]
        for lay in range(layer[a] + 1, layer[b]):
            d = len(layer)
            layer.append(lay)
            thick.append(0.0)
            broad.append(0.0)
            cluster.append(cluster[a] if cluster[a] == cluster[b] else None)
            up.append([])
            down.append([])
            chain.append(d)
        chain.append(b)
        for s, t in pairwise(chain):
            down[s].append(t)
            up[t].append(s)
        chains[(u, v)] = chain
    total = len(layer)
    depth = max(layer, default=-1) + 1

    # Start from depth-first discovery order, so what hangs together starts together.
    seen = [False] * total
    rank = [0.0] * total
    counter = 0
    for root in sorted(range(total), key=lambda i: (len(up[i]) > 0, i)):
        if seen[root]:
            continue
        stack = [root]
        while stack:
            v = stack.pop()
            if seen[v]:
                continue
            seen[v] = True
            rank[v] = counter
            counter += 1
            stack.extend(reversed(down[v]))
    rows: list[list[int]] = [[] for _ in range(depth)]
    for i in sorted(range(total), key=lambda i: (cluster[i] or "~", rank[i], i)):
        rows[layer[i]].append(i)
    pos = [0.0] * total
    for row in rows:
        for p, v in enumerate(row):
            pos[v] = float(p)

    def reorder(row: list[int], nbrs: list[list[int]]) -> list[int]:
        bary = {v: (sum(pos[u] for u in nbrs[v]) / len(nbrs[v]) if nbrs[v] else pos[v]) for v in row}
        groups: dict[str, list[float]] = {}
        for v in row:
            if cluster[v] is not None:
                groups.setdefault(str(cluster[v]), []).append(bary[v])
        gmean = {k: sum(vals) / len(vals) for k, vals in groups.items()}

        def key(v: int) -> tuple[float, str, float, float, int]:
            c = cluster[v]
            if c is None:
                return (bary[v], f"~{v:09d}", bary[v], pos[v], v)
            return (gmean[c], c, bary[v], pos[v], v)

        new = sorted(row, key=key)
        for p, v in enumerate(new):
            pos[v] = float(p)
        return new

    for _ in range(SWEEPS):
        for li in range(1, depth):
            rows[li] = reorder(rows[li], up)
        for li in range(depth - 2, -1, -1):
            rows[li] = reorder(rows[li], down)

    # Across each layer: the least-squares fit to the neighbours' mean, keeping order and spacing.
    def gap(u: int, v: int) -> float:
        sep = NODE_SEP if u < n and v < n else DUMMY_SEP
        extra = CLUSTER_GAP if cluster[u] != cluster[v] and u < n and v < n else 0.0
        return broad[u] / 2 + broad[v] / 2 + sep + extra

    offsets: list[list[float]] = []
    coord = [0.0] * total
    for row in rows:
        off = [0.0]
        for u, v in pairwise(row):
            off.append(off[-1] + gap(u, v))
        offsets.append(off)
        centre = off[-1] / 2 if off else 0.0
        for v, o in zip(row, off, strict=True):
            coord[v] = o - centre

    def place(li: int, nbrs: list[list[int]] | None) -> None:
        row, off = rows[li], offsets[li]
        if not row:
            return
        wanted = []
        for v in row:
            near = (up[v] + down[v]) if nbrs is None else nbrs[v]
            wanted.append(sum(coord[u] for u in near) / len(near) if near else coord[v])
        fitted = _pava([w - o for w, o in zip(wanted, off, strict=True)])
        for v, q, o in zip(row, fitted, off, strict=True):
            coord[v] = q + o

    for _ in range(PLACEMENT_ROUNDS):
        for li in range(1, depth):
            place(li, up)
        for li in range(depth - 2, -1, -1):
            place(li, down)
    for li in range(depth):
        place(li, None)

    # Along the flow: each layer as thick as its thickest box.
    layer_thick = [max((thick[v] for v in row), default=0.0) for row in rows]
    along: list[float] = []
    cursor = 0.0
    for li, size in enumerate(layer_thick):
        if li:
            cursor += RANK_SEP
        along.append(cursor + size / 2)
        cursor += size
    extent = cursor

    def to_xy(a: float, b: float) -> Point:
        if rankdir in ("RL", "BT"):
            a = extent - a
        return (a, b) if horizontal else (b, a)

    boxes = {}
    for i, nd in enumerate(nodes):
        x, y = to_xy(along[layer[i]], coord[i])
        boxes[nd.key] = Box(x, y, nd.width, nd.height)

    no_arrow = set(arrowless)
    routes: list[Route] = []
    for tail, head in edges:
        u, v = index[tail], index[head]
        if u == v:
            continue
        chain = chains[(u, v)]
        pts: list[Point] = [(along[layer[chain[0]]] + thick[chain[0]] / 2, coord[chain[0]])]
        for d in chain[1:-1]:
            half = layer_thick[layer[d]] / 2
            pts.append((along[layer[d]] - half, coord[d]))
            pts.append((along[layer[d]] + half, coord[d]))
        pts.append((along[layer[chain[-1]]] - thick[chain[-1]] / 2, coord[chain[-1]]))
        is_back = (u, v) in back
        if is_back:
            pts.reverse()
        tip = pts[-1]
        sign = 1.0 if tip[0] >= pts[-2][0] else -1.0
        base = (tip[0] - sign * ARROW_LEN, tip[1])
        arrow: tuple[Point, Point, Point] | None = None
        if (tail, head) not in no_arrow:
            pts[-1] = base
            arrow = (to_xy(*tip), to_xy(base[0], base[1] - ARROW_HALF), to_xy(base[0], base[1] + ARROW_HALF))
        segments = []
        for p0, p1 in pairwise(pts):
            half = (p1[0] - p0[0]) / 2
            c1, c2 = (p0[0] + half, p0[1]), (p1[0] - half, p1[1])
            segments.append((to_xy(*p0), to_xy(*c1), to_xy(*c2), to_xy(*p1)))
        routes.append(Route(tail, head, tuple(segments), arrow, is_back))

    result = Layout(0.0, 0.0, boxes, routes, {nd.key: layer[i] for i, nd in enumerate(nodes)})
    _fit_clusters(result, nodes)
    _normalise(result)
    return result


def _fit_clusters(result: Layout, nodes: Sequence[LNode]) -> None:
    """A background rectangle per folder when it holds no other box and crosses no other folder's."""
    members: dict[str, list[Box]] = {}
    for nd in nodes:
        if nd.cluster is not None:
            members.setdefault(nd.cluster, []).append(result.boxes[nd.key])
    kept: list[Box] = []
    for key in sorted(members):
        group = members[key]
        left = min(b.left for b in group) - CLUSTER_PAD
        right = max(b.right for b in group) + CLUSTER_PAD
        top = min(b.top for b in group) - CLUSTER_PAD - CLUSTER_TITLE
        bottom = max(b.bottom for b in group) + CLUSTER_PAD
        rect = Box((left + right) / 2, (top + bottom) / 2, right - left, bottom - top)
        clean = not any(result.boxes[nd.key].overlaps(rect) for nd in nodes if nd.cluster != key) and not any(
            rect.overlaps(other) for other in kept
        )
        result.clusters[key] = rect if clean else None
        if clean:
            kept.append(rect)


def _normalise(result: Layout) -> None:
    """Shift everything so the drawing starts at the margin, and record its size."""
    frames = list(result.boxes.values()) + [r for r in result.clusters.values() if r is not None]
    xs = [p[0] for r in result.routes for s in r.segments for p in s]
    ys = [p[1] for r in result.routes for s in r.segments for p in s]
    min_x = min([b.left for b in frames] + xs, default=0.0)
    min_y = min([b.top for b in frames] + ys, default=0.0)
    max_x = max([b.right for b in frames] + xs, default=0.0)
    max_y = max([b.bottom for b in frames] + ys, default=0.0)
    dx, dy = MARGIN - min_x, MARGIN - min_y

    def move(p: Point) -> Point:
        return (p[0] + dx, p[1] + dy)

    result.boxes = {k: Box(b.x + dx, b.y + dy, b.w, b.h) for k, b in result.boxes.items()}
    result.clusters = {
        k: (None if b is None else Box(b.x + dx, b.y + dy, b.w, b.h)) for k, b in result.clusters.items()
    }
    result.routes = [
        Route(
            r.tail,
            r.head,
            tuple((move(a), move(b), move(c), move(d)) for a, b, c, d in r.segments),
            None if r.arrow is None else (move(r.arrow[0]), move(r.arrow[1]), move(r.arrow[2])),
            r.reversed,
        )
        for r in result.routes
    ]
    result.width = max_x - min_x + 2 * MARGIN
    result.height = max_y - min_y + 2 * MARGIN
