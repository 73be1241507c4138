"""dbt's graph-operator selectors over a LineageGraph.

Grammar (one parser, :func:`parse`, then :func:`evaluate`)::

    selector     := intersection (SPACE intersection)*      space is union
    intersection := atom ("," atom)*                        comma is intersection (binds tighter)
    atom         := "@" value | [N] "+" value "+" [N] ...   depth-limited ancestors / descendants
    value        := NAME | UUID | GLOB | METHOD ":" VALUE   quotes allow spaces: folder:"Data team"

>>> select(graph, "+orders_daily")             # orders_daily and everything it reads
>>> select(graph, "2+folder:Finance+1,kind:matview", exclude="stale_*")
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lineage.errors import SelectorError
from lineage.graph import CONSUMER_KINDS, NODE_KINDS, LineageGraph, bfs, hint
from lineage.io import visible

__all__ = ["METHODS", "Atom", "Intersection", "Union", "evaluate", "parse", "select"]

METHODS = ("consumers", "folder", "ghost", "id", "kind", "materialized", "name", "status")
_GLOB_CHARS = frozenset("*?[")
_PREFIX_RE = re.compile(r"(@)|(\d*)\+")
_SUFFIX_RE = re.compile(r"\+(\d*)$")
_METHOD_RE = re.compile(r"([A-Za-z_]\w*):")
_BOOLS = {"true": True, "false": False}
#: Saved-query statuses PostHog reports (posthog-api.md, enumerations), keyed by their lower case.
# "Skipped": the newest PostHog's status of a view a DAG run skipped because something upstream failed.
_KNOWN_STATUSES = {
    s.lower(): s for s in ("Cancelled", "Completed", "Failed", "Modified", "Running", "Skipped")
}
_PLURALS = {"folder": "folders", "status": "statuses"}
#: At most this many existing values are listed in an "unknown folder/status" message.
_LISTED = 20


@dataclass(frozen=True)
class Atom:
    """One selector term: a name, glob or method value with its graph operators.

    ``start``/``end`` locate the term in the selector text, for caret messages.
    """

    value: str
    method: str | None = None
    at: bool = False
    parents: bool = False
    parents_depth: int | None = None
    children: bool = False
    children_depth: int | None = None
    start: int = 0
    end: int = 0
    value_start: int = 0


@dataclass(frozen=True)
class Intersection:
    """Atoms joined by commas: nodes every atom selects."""

    atoms: tuple[Atom, ...]


@dataclass(frozen=True)
class Union:
    """Intersections separated by spaces: nodes any of them selects."""

    parts: tuple[Intersection, ...]
    text: str
    label: str = "selector"


def select(graph: LineageGraph, selector: str, *, exclude: str | None = None) -> list[str]:
    """The sorted ids ``selector`` picks out of ``graph``, minus those ``exclude`` picks."""
    chosen = evaluate(graph, parse(selector))
    if exclude is not None:
        chosen -= evaluate(graph, parse(exclude, label="--exclude selector"))
    return sorted(chosen)


def parse(selector: str, *, label: str = "selector") -> Union:
    """Parse a selector into its AST; a malformed one is a SelectorError with a caret under the fault."""
    parts: list[Intersection] = []
    for chunk_start, chunk_end in _split(selector, " \t\n", label):
        atoms = []
        pieces = list(_split_commas(selector, chunk_start, chunk_end, label))
        for start, end in pieces:
            if start == end:
                _fail(
                    selector,
                    label,
                    start,
                    end,
                    "an empty term around ','; write 'a,b' with a term on each side",
                )
            atoms.append(_parse_atom(selector, start, end, label))
        parts.append(Intersection(tuple(atoms)))
    if not parts:
        raise SelectorError(
            f"empty {label} {selector!r}; give a name, a glob like 'orders_*', "
            "or a method like 'folder:Finance'"
        )
    return Union(tuple(parts), selector, label)


def evaluate(graph: LineageGraph, tree: Union) -> set[str]:
    """The set of ids a parsed selector picks out of ``graph``."""
    chosen: set[str] = set()
    for part in tree.parts:
        found: set[str] | None = None
        for atom in part.atoms:
            ids = _evaluate_atom(graph, atom, tree.text, tree.label)
            found = ids if found is None else found & ids
        chosen |= found or set()
    return chosen


# -- parsing -------------------------------------------------------------------------------------


def _split(text: str, separators: str, label: str) -> Iterable[tuple[int, int]]:
    """Spans of ``text`` between runs of separators, quotes kept whole."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in separators:
            i += 1
        if i >= n:
            return
        start = i
        while i < n and text[i] not in separators:
            if text[i] in "\"'":
                i = _close_quote(text, i, label)
            i += 1
        yield start, i


def _split_commas(text: str, start: int, end: int, label: str) -> Iterable[tuple[int, int]]:
    i, piece = start, start
    while i < end:
        if text[i] in "\"'":
            i = _close_quote(text, i, label)
        elif text[i] == ",":
            yield piece, i
            piece = i + 1
        i += 1
    yield piece, end


def _close_quote(text: str, i: int, label: str) -> int:
    close = text.find(text[i], i + 1)
    if close < 0:
        _fail(text, label, i, len(text), f"the quote {text[i]} is never closed; close it or drop it")
    return close


def _parse_atom(text: str, start: int, end: int, label: str) -> Atom:
    raw = text[start:end]
    pos = 0
    at = parents = False
    parents_depth: int | None = None
    m = _PREFIX_RE.match(raw)
    if m and m.group(1):
        at, pos = True, 1
        if re.match(r"\d*\+", raw[pos:]):
            _fail(
                text,
                label,
                start,
                end,
                "'@' cannot be combined with a '+' prefix; '@x' already adds its descendants' ancestors",
            )
    elif m:
        parents, pos = True, m.end()
        parents_depth = int(m.group(2)) if m.group(2) else None
    children = False
    children_depth: int | None = None
    stop = len(raw)
    s = _SUFFIX_RE.search(raw, pos)
    if s:
        children, stop = True, s.start()
        children_depth = int(s.group(1)) if s.group(1) else None
        if at:
            _fail(
                text,
                label,
                start,
                end,
                "'@' cannot be combined with a '+' suffix; '@x' already includes all of x's descendants",
            )
    body = raw[pos:stop]
    body_start = start + pos
    method: str | None = None
    mm = _METHOD_RE.match(body)
    if mm:
        method = mm.group(1)
        if method not in METHODS:
            _fail(
                text,
                label,
                body_start,
                body_start + len(method),
                f"unknown selector method {method!r}; known methods: {', '.join(METHODS)}",
            )
        body = body[mm.end() :]
        body_start += mm.end()
    value = _unquote(body)
    if value != body:
        body_start += 1
    if not value:
        if method is not None:
            what = f"method {method!r} needs a value, e.g. '{method}:{_EXAMPLES[method]}'"
        else:
            what = "a term has graph operators but no name; write e.g. '+orders' or '2+orders+1'"
        _fail(text, label, start, end, what)
    if method is None and ("+" in value or "@" in value or ":" in value):
        _fail(
            text,
            label,
            start,
            end,
            f"cannot read {raw!r}: operators go around a name ('2+name+1', '@name'); methods read 'folder:X'",
        )
    return Atom(
        value=value,
        method=method,
        at=at,
        parents=parents,
        parents_depth=parents_depth,
        children=children,
        children_depth=children_depth,
        start=start,
        end=end,
        value_start=body_start,
    )


_EXAMPLES = {
    "consumers": "false",
    "folder": "Finance",
    "ghost": "true",
    "id": "0190c1f2-...",
    "kind": "matview",
    "materialized": "true",
    "name": "orders_*",
    "status": "Failed",
}


def _unquote(body: str) -> str:
    if len(body) >= 2 and body[0] in "\"'" and body[-1] == body[0]:
        return body[1:-1]
    return body


def _fail(text: str, label: str, start: int, end: int, what: str) -> Any:
    """Raise a SelectorError quoting ``text`` with carets under ``text[start:end]``."""
    width = max(1, end - start)
    # One character per column keeps the carets under the fault; control characters would not.
    shown = "".join(c if c.isprintable() else " " for c in text)
    raise SelectorError(f"bad {label} {text!r}: {what}\n  {shown}\n  {' ' * start}{'^' * width}")


# -- evaluation ----------------------------------------------------------------------------------


def _evaluate_atom(graph: LineageGraph, atom: Atom, text: str, label: str) -> set[str]:
    base = _base(graph, atom, text, label)
    if atom.at:
        below = bfs(graph.nx.successors, base, None)
        return set(bfs(graph.nx.predecessors, below, None))
    out = set(base)
    if atom.parents:
        out |= set(bfs(graph.nx.predecessors, base, atom.parents_depth))
    if atom.children:
        out |= set(bfs(graph.nx.successors, base, atom.children_depth))
    return out


def _is_glob(value: str) -> bool:
    return any(c in _GLOB_CHARS for c in value)


def _base(graph: LineageGraph, atom: Atom, text: str, label: str) -> set[str]:
    value, method = atom.value, atom.method
    if method is None:
        if _is_glob(value):
            return _match_names(graph, value)
        ids = graph.lookup(value)
        if not ids:
            _fail(
                text,
                label,
                atom.value_start,
                atom.value_start + len(value),
                f"unknown view or table {value!r}; {hint(graph.suggest(value))}",
            )
        return set(ids)
    if method == "name":
        return _match_names(graph, value)
    if method == "id":
        lowered = value.lower()
        return {n for n in graph.nx if fnmatch.fnmatchcase(n.lower(), lowered)}
    if method in ("folder", "status"):
        lowered = value.lower()
        found = _match_attr(
            graph, method, lambda v: isinstance(v, str) and fnmatch.fnmatchcase(v.lower(), lowered)
        )
        # A literal value that names nothing is almost always a typo, so it fails loudly; a glob, or a
        # PostHog status that no view happens to have right now (status:Failed on a healthy project),
        # is a fair question whose answer is "nothing".
        if not found and not _is_glob(value) and not (method == "status" and lowered in _KNOWN_STATUSES):
            _fail(
                text,
                label,
                atom.value_start,
                atom.value_start + len(value),
                _unknown_value(graph, method, value),
            )
        return found
    if method == "kind":
        if value not in NODE_KINDS:
            _fail(
                text,
                label,
                atom.value_start,
                atom.value_start + len(value),
                f"kind {value!r} is not one of {', '.join(NODE_KINDS)}",
            )
        return _match_attr(graph, "kind", lambda v: v == value)
    # materialized, ghost and consumers: booleans
    flag = _BOOLS.get(value.lower())
    if flag is None:
        _fail(
            text,
            label,
            atom.value_start,
            atom.value_start + len(value),
            f"{method}:{value} must be {method}:true or {method}:false",
        )
    if method == "consumers":
        # consumers:true picks insights, dashboards, notebooks, endpoints and alerts; false everything else.
        return _match_attr(graph, "kind", lambda v: (v in CONSUMER_KINDS) is flag)
    attr = "is_materialized" if method == "materialized" else "ghost"
    if method == "ghost":
        # A node without the flag is a live one.
        return _match_attr(graph, attr, lambda v: bool(v) is flag)
    # Only saved queries carry is_materialized; tables are neither materialized nor not.
    return _match_attr(graph, attr, lambda v: isinstance(v, bool) and v is flag)


def _unknown_value(graph: LineageGraph, method: str, value: str) -> str:
    """``unknown folder 'X'; did you mean ...? (folders: ...)`` for a folder or status that names nothing."""
    present = sorted(
        {v for _, v in graph.nx.nodes(data=method) if isinstance(v, str) and v},
        key=lambda v: (v.casefold(), v),
    )
    plural = _PLURALS[method]
    if not present:
        return (
            f"unknown {method} {value!r}: no node in the snapshot has a {method}; drop the '{method}:' term"
        )
    # Suggestions are matched without case, as selection is; PostHog's statuses count as candidates too.
    candidates = dict(_KNOWN_STATUSES) if method == "status" else {}
    candidates.update({v.lower(): v for v in present})
    close = difflib.get_close_matches(value.lower(), sorted(candidates), n=3, cutoff=0.6)
    shown = ", ".join(visible(v) for v in present[:_LISTED])
    if len(present) > _LISTED:
        shown += f", ... ({len(present) - _LISTED} more)"
    if close:
        return f"unknown {method} {value!r}; {hint([candidates[c] for c in close])} ({plural}: {shown})"
    return f"unknown {method} {value!r} ({plural}: {shown}); pick one of these, or use a glob"


def _match_names(graph: LineageGraph, pattern: str) -> set[str]:
    return {i for name, ids in graph.names().items() if fnmatch.fnmatchcase(name, pattern) for i in ids}


def _match_attr(graph: LineageGraph, attr: str, test: Callable[[Any], bool]) -> set[str]:
    return {n for n, v in graph.nx.nodes(data=attr) if test(v)}
