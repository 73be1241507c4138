"""PostHog's E1/E2 lineage storage (``DataWarehouseModelPath``) and an engine that answers like it.

PostHog stores one row per root-to-leaf path (``DataWarehouseModelPath.path``, a Postgres ltree)
and answers ``ancestors``, ``descendants`` and ``dependencies`` by slicing every matching path.
Enumerating paths is exponential (dbt_tuva has ~1.8e10 of them), so :class:`LineageIndex` keeps
the DAG those paths are drawn from and answers the same questions with graph algorithms.
:class:`PathStoreModel` is the literal, tiny model (lists of labels) that the property tests hold
the engine to.

Invariant the engine relies on: the stored paths are exactly the root-to-``x`` paths of the DAG
for every node ``x`` that still *owns* paths ("present"). A view loses its own paths on
revert/delete while paths through it (owned by its descendants) stay: a "ghost".

>>> idx = LineageIndex()
>>> idx.add_table("events", ("events",))
>>> idx.add_view("v1", "a" * 32)
>>> idx.set_parents("v1", ["events"])
>>> sorted(idx.ancestors("v1", MISSING))
['events']
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, Final

MISSING: Final = object()
"""The ``level`` key is absent from the request body."""


class LineageCycleError(ValueError):
    """Giving a view these parents would close a cycle through the view itself."""


def label_to_id(label: str) -> str:
    """PostHog's ``try_convert_to_uuid``: 32-hex labels come back as dashed UUIDs, names unchanged."""
    try:
        return str(uuid.UUID(label))
    except ValueError:
        return label


def _level_is_all(level: Any) -> bool:
    return level is MISSING or level is None


class PathStoreModel:
    """A literal model of the ModelPath table: a set of label tuples, sliced as E1/E2 code does.

    Node ids are the API ids (views/tables) or names; ``labels`` give each node's label chain.
    Meant for small graphs in tests only: it enumerates every root-to-leaf path.
    """

    def __init__(self) -> None:
        self.paths: set[tuple[str, ...]] = set()
        self._labels: dict[str, tuple[str, ...]] = {}
        self._tables: set[str] = set()

    def add_table(self, node_id: str, labels: Sequence[str]) -> None:
        """Register a root table (PostHog tables: dotted name split into labels)."""
        self._labels[node_id] = tuple(labels)
        self._tables.add(node_id)

    def add_view(self, node_id: str, label: str) -> None:
        """Register a saved query whose label is its 32-hex id."""
        self._labels[node_id] = (label,)

    def set_parents(self, view_id: str, parents: Sequence[str]) -> None:
        """Create or recompute the view's paths from its parents; paths through it are re-prefixed."""
        (me,) = self._labels[view_id]
        prefixes: list[tuple[str, ...]] = []
        for parent in parents:
            plabels = self._labels[parent]
            if parent in self._tables:
                self.paths.add(plabels)  # get_or_create_root_path_for_*
                prefixes.append(plabels)
            else:
                prefixes.extend(p for p in self.paths if p[-1] == plabels[0])
        if not prefixes:
            prefixes = [()]
        if any(me in prefix for prefix in prefixes):
            raise LineageCycleError(f"view {view_id} would become its own ancestor")
        through = {p for p in self.paths if me in p}
        suffixes = {p[p.index(me) :] for p in through} | {(me,)}
        self.paths -= through
        self.paths |= {prefix + suffix for prefix in prefixes for suffix in suffixes}

    def drop_paths(self, view_id: str) -> None:
        """revert_materialization / delete: remove paths ``*{1,}.<hex>`` (ending at the view)."""
        (me,) = self._labels[view_id]
        self.paths = {p for p in self.paths if not (len(p) >= 2 and p[-1] == me)}

    def ancestors(self, view_id: str, level: Any) -> set[str]:
        """E1/E2 ``ancestors`` verbatim (``int()`` on the level; may raise ValueError/TypeError)."""
        (me,) = self._labels[view_id]
        paths = [p for p in self.paths if len(p) >= 2 and p[-1] == me]
        if not paths:
            return set()
        out: set[str] = set()
        for path in paths:
            start = 0 if _level_is_all(level) else (int(level) * -1) - 1
            out |= {label_to_id(lab) for lab in path[start:-1]}
        return out

    def descendants(self, view_id: str, level: Any) -> set[str]:
        """E1/E2 ``descendants`` verbatim (``start + level`` with no ``int()``: may raise TypeError)."""
        (me,) = self._labels[view_id]
        paths = [p for p in self.paths if me in p and p.index(me) < len(p) - 1]
        if not paths:
            return set()
        out: set[str] = set()
        for path in paths:
            start = path.index(me) + 1
            end = len(path) if _level_is_all(level) else start + level
            out |= {label_to_id(lab) for lab in path[start:end]}
        return out

    def dependencies(self, view_id: str) -> tuple[int, int]:
        """E1/E2 ``dependencies``: distinct raw labels just before / just after the view."""
        (me,) = self._labels[view_id]
        up = {p[-2] for p in self.paths if p[-1] == me and len(p) >= 2}
        down = {p[p.index(me) + 1] for p in self.paths if me in p and p.index(me) + 1 < len(p)}
        return len(up), len(down)


class LineageIndex:
    """The path store's answers computed on its DAG, without enumerating paths.

    Per-node facts are computed lazily and cached until the next mutation:

    * ``depths(n)``: bitmask of every label count that precedes ``n`` on some root path;
    * ``rmax(n)``: most labels after ``n`` on a stored path through ``n`` (-1 = no stored path
      reaches past ``n``, i.e. no present node at or below it).
    """

    def __init__(self) -> None:
        self._labels: dict[str, tuple[str, ...]] = {}
        self._tables: set[str] = set()
        self._parents: dict[str, list[str]] = {}
        self._children: dict[str, set[str]] = {}
        self._present: set[str] = set()
        self._root_rows: set[str] = set()
        self._depths: dict[str, int] = {}
        self._rmax: dict[str, int] = {}
        self._answers: dict[tuple[str, str, Any], frozenset[str]] = {}

    # -- mutation -----------------------------------------------------------------------------
    def _invalidate(self) -> None:
        self._depths.clear()
        self._rmax.clear()
        self._answers.clear()

    def add_table(self, node_id: str, labels: Sequence[str]) -> None:
        """Register a root table (PostHog tables: dotted name split into labels)."""
        self._labels[node_id] = tuple(labels)
        self._tables.add(node_id)
        self._parents.setdefault(node_id, [])
        self._children.setdefault(node_id, set())

    def add_view(self, node_id: str, label: str) -> None:
        """Register a saved query (no paths until :meth:`set_parents`)."""
        self._labels[node_id] = (label,)
        self._parents.setdefault(node_id, [])
        self._children.setdefault(node_id, set())

    def set_parents(self, view_id: str, parents: Sequence[str]) -> None:
        """Create or recompute the view's paths: only parents that own paths contribute."""
        contributing: list[str] = []
        for parent in dict.fromkeys(parents):
            if parent in self._tables or parent in self._present:
                contributing.append(parent)
        if self._children[view_id]:
            above: set[str] = set()
            for parent in contributing:
                above |= self._ancestor_set(parent)
                above.add(parent)
            if view_id in above:
                raise LineageCycleError(f"view {view_id} would become its own ancestor")
        elif view_id in contributing:
            raise LineageCycleError(f"view {view_id} would become its own ancestor")
        for old in self._parents[view_id]:
            self._children[old].discard(view_id)
        self._parents[view_id] = contributing
        for parent in contributing:
            self._children[parent].add(view_id)
            if parent in self._tables:
                self._root_rows.add(parent)
        self._present.add(view_id)
        self._invalidate()

    def drop_paths(self, view_id: str) -> None:
        """revert_materialization / delete: the view's own paths go, paths through it stay."""
        if self._parents[view_id]:
            # A root view's single-label path [hex] does not match '*{1,}.<hex>' and survives.
            self._present.discard(view_id)
        self._invalidate()

    # -- cached per-node facts ----------------------------------------------------------------
    def _ancestor_set(self, node: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self._parents[node])
        while stack:
            cur = stack.pop()
            if cur not in seen:
                seen.add(cur)
                stack.extend(self._parents[cur])
        return seen

    def depths(self, node: str) -> int:
        """Bitmask: bit ``i`` is set when some root path to ``node`` has ``i`` labels before it."""
        if node in self._depths:
            return self._depths[node]
        stack = [node]
        while stack:
            cur = stack[-1]
            missing = [p for p in self._parents[cur] if p not in self._depths]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            if cur in self._depths:
                continue
            mask = 0
            for parent in self._parents[cur]:
                mask |= self._depths[parent] << len(self._labels[parent])
            self._depths[cur] = mask or 1
        return self._depths[node]

    def rmax(self, node: str) -> int:
        """Most labels after ``node`` on any stored path through it; -1 when none passes it."""
        if node in self._rmax:
            return self._rmax[node]
        stack = [node]
        while stack:
            cur = stack[-1]
            missing = [c for c in self._children[cur] if c not in self._rmax]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            if cur in self._rmax:
                continue
            best = 0 if cur in self._present else -1
            for child in self._children[cur]:
                if self._rmax[child] >= 0:
                    best = max(best, self._rmax[child] + 1)
            self._rmax[cur] = best
        return self._rmax[node]

    def _live_children(self, node: str) -> list[str]:
        return [c for c in self._children[node] if self.rmax(c) >= 0]

    def _ids(self, labels: Iterable[str]) -> frozenset[str]:
        return frozenset(label_to_id(lab) for lab in labels)

    # -- queries --------------------------------------------------------------------------------
    def ancestors(self, view_id: str, level: Any) -> set[str]:
        """Equal to :meth:`PathStoreModel.ancestors`, raising the same ValueError/TypeError."""
        if view_id not in self._present or not self._parents[view_id]:
            return set()  # no path '*{1,}.<hex>': early [] before the level is looked at
        start_all = _level_is_all(level)
        n = 0 if start_all else int(level)
        key = (view_id, "a", "all" if start_all else n)
        if key in self._answers:
            return set(self._answers[key])
        labels: list[str] = []
        if start_all:
            for node in self._ancestor_set(view_id):
                labels.extend(self._labels[node])
        elif n > 0:
            # Label i (1-based) of a k-label chain at hop distance d sits d + k - i labels from V.
            dist = {view_id: 0}
            queue = deque([view_id])
            while queue:
                cur = queue.popleft()
                for parent in self._parents[cur]:
                    if parent not in dist:
                        dist[parent] = dist[cur] + 1
                        queue.append(parent)
            for node, d in dist.items():
                if node == view_id:
                    continue
                chain = self._labels[node]
                k = len(chain)
                labels.extend(lab for i, lab in enumerate(chain, 1) if d + k - i <= n)
        elif n < 0:
            # path[s:-1] with s = -n-1: a label counts if it sits at index >= s on some root path.
            s = -n - 1
            for node in self._ancestor_set(view_id):
                deepest = self.depths(node).bit_length() - 1
                labels.extend(lab for i, lab in enumerate(self._labels[node]) if deepest + i >= s)
        answer = self._ids(labels)
        self._answers[key] = answer
        return set(answer)

    def descendants(self, view_id: str, level: Any) -> set[str]:
        """Equal to :meth:`PathStoreModel.descendants`, raising TypeError for non-int levels."""
        first = self._live_children(view_id)
        if not first:
            return set()  # no path '*.<hex>.*{1,}'
        start_all = _level_is_all(level)
        if not start_all and not isinstance(level, int):
            # start + level: str/list/dict fail the addition, floats fail as a slice index.
            raise TypeError(f"slice indices must be integers, not {type(level).__name__}")
        n = 0 if start_all else int(level)
        key = (view_id, "d", "all" if start_all else n)
        if key in self._answers:
            return set(self._answers[key])
        found: list[str] = []
        if start_all or n > 0:
            dist = {view_id: 0}
            queue = deque([view_id])
            while queue:
                cur = queue.popleft()
                if not start_all and dist[cur] >= n:
                    continue
                for child in self._live_children(cur):
                    if child not in dist:
                        dist[child] = dist[cur] + 1
                        queue.append(child)
            found = [node for node in dist if node != view_id]
        elif n < 0:
            # Per path: i labels before V, path[i+1 : i+1-m] keeps the suffix minus its last
            # m-1-i labels, and is empty unless i <= m-2. Use the deepest usable i.
            m = -n
            depths = self.depths(view_id)
            # Mask by bit count, never by 1 << m: a client may send level=-10**18.
            usable = depths if m - 1 >= depths.bit_length() else depths & ((1 << max(m - 1, 0)) - 1)
            if usable:
                need = m - 1 - (usable.bit_length() - 1)
                found = [node for node in self._descendant_set(view_id) if self.rmax(node) >= need]
        answer = self._ids(lab for node in found for lab in self._labels[node])
        self._answers[key] = answer
        return set(answer)

    def _descendant_set(self, node: str) -> set[str]:
        seen: set[str] = set()
        stack = self._live_children(node)
        while stack:
            cur = stack.pop()
            if cur not in seen:
                seen.add(cur)
                stack.extend(self._live_children(cur))
        return seen

    def dependencies(self, view_id: str) -> tuple[int, int]:
        """Equal to :meth:`PathStoreModel.dependencies` (distinct raw labels)."""
        up: set[str] = set()
        if view_id in self._present:
            up = {self._labels[p][-1] for p in self._parents[view_id]}
        down = {self._labels[c][0] for c in self._live_children(view_id)}
        return len(up), len(down)

    def edges_and_nodes(self) -> tuple[set[tuple[str, str]], set[str]]:
        """Raw label pairs and labels of every stored path (for ``warehouse_dag``)."""
        edges: set[tuple[str, str]] = set()
        nodes: set[str] = set()
        for table in self._root_rows:
            chain = self._labels[table]
            nodes.update(chain)
            edges.update(itertools.pairwise(chain))
        for node, parents in self._parents.items():
            if node in self._tables or self.rmax(node) < 0:
                continue
            nodes.update(self._labels[node])
            for parent in parents:
                nodes.update(self._labels[parent])
                edges.add((self._labels[parent][-1], self._labels[node][0]))
        for node in self._present:
            nodes.update(self._labels[node])
        return edges, nodes
