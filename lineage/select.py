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
from typing import Any, ClassVar, NoReturn, TypeVar

from lineage.errors import SelectorError, param
from lineage.graph import CONSUMER_KINDS, NODE_KINDS, LineageGraph, bfs, hint
from lineage.io import visible

__all__ = [
    "METHODS",
    "SELECTOR_METHODS",
    "Atom",
    "SelectionIntersection",
    "SelectionUnion",
    "SelectorMethod",
    "evaluate",
    "mark_cut",
    "parse",
    "select",
    "select_or_all",
]

_GLOB_CHARS = frozenset("*?[")
_PREFIX_RE = re.compile(r"(@)|(\d*)\+")
_SUFFIX_RE = re.compile(r"\+(\d*)$")
_METHOD_RE = re.compile(r"([A-Za-z_]\w*):")
_BOOLS = {"true": True, "false": False}
#: Saved-query statuses PostHog's API reports (its status enumeration), keyed by their lower case.
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
class SelectionIntersection:
    """Atoms joined by commas: nodes every atom selects."""

    atoms: tuple[Atom, ...]


@dataclass(frozen=True)
class SelectionUnion:
    """Intersections separated by spaces: nodes any of them selects."""

    parts: tuple[SelectionIntersection, ...]
    text: str
    label: str = "selector"


#: The names these classes had before (``Union`` shadowed ``typing.Union`` where both were imported).
Intersection = SelectionIntersection
Union = SelectionUnion


def select(graph: LineageGraph, selector: str, *, exclude: str | None = None) -> list[str]:
    """The sorted ids ``selector`` picks out of ``graph``, minus those ``exclude`` picks."""
    chosen = evaluate(graph, parse(selector))
    if exclude is not None:
        chosen -= evaluate(graph, parse(exclude, label=f"{param('exclude')} selector"))
    return sorted(chosen)


def select_or_all(graph: LineageGraph, selector: str | None, *, exclude: str | None = None) -> list[str]:
    """As :func:`select`, where no ``selector`` means every node (``exclude`` still applies)."""
    if selector is not None:
        return select(graph, selector, exclude=exclude)
    if exclude is None:
        return graph.nodes()
    dropped = set(select(graph, exclude))
    return [n for n in graph.nodes() if n not in dropped]


def mark_cut(full: LineageGraph, ids: list[str]) -> LineageGraph:
    """The subgraph of ``ids``, each node counting the direct neighbours the selection left out as
    ``more_upstream`` / ``more_downstream`` (added to any the crawl's depth limit already recorded)."""
    keep = set(ids)
    sub = full.subgraph(ids)
    for n in sub.nx.nodes:
        attrs = sub.nx.nodes[n]
        cut_up = sum(1 for p in full.nx.predecessors(n) if p not in keep)
        cut_down = sum(1 for s in full.nx.successors(n) if s not in keep)
        if cut_up:
            attrs["more_upstream"] = int(attrs.get("more_upstream") or 0) + cut_up
        if cut_down:
            attrs["more_downstream"] = int(attrs.get("more_downstream") or 0) + cut_down
    return sub


def parse(selector: str, *, label: str = "selector") -> SelectionUnion:
    """Parse a selector into its AST; a malformed one is a SelectorError with a caret under the fault."""
    parts: list[SelectionIntersection] = []
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
        parts.append(SelectionIntersection(tuple(atoms)))
    if not parts:
        raise SelectorError(
            f"empty {label} {selector!r}; give a name, a glob like 'orders_*', "
            "or a method like 'folder:Finance'"
        )
    return SelectionUnion(tuple(parts), selector, label)


def evaluate(graph: LineageGraph, tree: SelectionUnion) -> set[str]:
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
            what = f"method {method!r} needs a value, e.g. '{method}:{SELECTOR_METHODS[method].example}'"
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


def _unquote(body: str) -> str:
    if len(body) >= 2 and body[0] in "\"'" and body[-1] == body[0]:
        return body[1:-1]
    return body


def _fail(text: str, label: str, start: int, end: int, what: str) -> NoReturn:
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

    def fail(what: str) -> NoReturn:
        _fail(text, label, atom.value_start, atom.value_start + len(value), what)

    return SELECTOR_METHODS[method].search(graph, value, fail)


# -- selector methods ----------------------------------------------------------------------------


class SelectorMethod:
    """One ``method:value`` term of the selector language (as dbt's ``SelectorMethod``).

    ``search`` returns the ids ``value`` matches; a value that cannot be right calls ``fail`` with the
    reason, which raises a SelectorError with carets under the value.
    """

    name: ClassVar[str]
    example: ClassVar[str]

    def search(self, graph: LineageGraph, value: str, fail: Callable[[str], NoReturn]) -> set[str]:
        raise NotImplementedError


#: Every selector method by name (``folder:``, ``kind:``...); :data:`METHODS` lists their names.
SELECTOR_METHODS: dict[str, SelectorMethod] = {}

_M = TypeVar("_M", bound=type[SelectorMethod])


def selector_method(cls: _M) -> _M:
    """Class decorator: add a SelectorMethod to :data:`SELECTOR_METHODS` under its ``name``."""
    SELECTOR_METHODS[cls.name] = cls()
    return cls


@selector_method
class NameMethod(SelectorMethod):
    """``name:GLOB``: nodes whose name matches (case-sensitive)."""

    name = "name"
    example = "orders_*"

    def search(self, graph: LineageGraph, value: str, fail: Callable[[str], NoReturn]) -> set[str]:
        return _match_names(graph, value)


@selector_method
class IdMethod(SelectorMethod):
    """``id:GLOB``: nodes whose id matches, without case (UUIDs are case-insensitive)."""

    name = "id"
    example = "0190c1f2-..."

    def search(self, graph: LineageGraph, value: str, fail: Callable[[str], NoReturn]) -> set[str]:
        lowered = value.lower()
        return {n for n in graph.nx if fnmatch.fnmatchcase(n.lower(), lowered)}


class _TextMethod(SelectorMethod):
    """A text attribute named as the method, matched as a glob without case."""

    def search(self, graph: LineageGraph, value: str, fail: Callable[[str], NoReturn]) -> set[str]:
        lowered = value.lower()
        found = _match_attr(
            graph, self.name, lambda v: isinstance(v, str) and fnmatch.fnmatchcase(v.lower(), lowered)
        )
        # A literal value that names nothing is almost always a typo, so it fails loudly; a glob, or a
        # value that may fairly match nothing right now (status:Failed on a healthy project), is a fair
        # question whose answer is "nothing".
        if not found and not _is_glob(value) and not self.may_be_empty(lowered):
            fail(_unknown_value(graph, self.name, value))
        return found

    def may_be_empty(self, lowered: str) -> bool:
        return False


@selector_method
class FolderMethod(_TextMethod):
    """``folder:GLOB``: nodes in a matching folder."""

    name = "folder"
    example = "Finance"


@selector_method
class StatusMethod(_TextMethod):
    """``status:GLOB``: views whose saved-query status matches; a PostHog status may match nothing."""

    name = "status"
    example = "Failed"

    def may_be_empty(self, lowered: str) -> bool:
        return lowered in _KNOWN_STATUSES


@selector_method
class KindMethod(SelectorMethod):
    """``kind:KIND``: nodes of one of NODE_KINDS."""

    name = "kind"
    example = "matview"

    def search(self, graph: LineageGraph, value: str, fail: Callable[[str], NoReturn]) -> set[str]:
        if value not in NODE_KINDS:
            fail(f"kind {value!r} is not one of {', '.join(NODE_KINDS)}")
        return _match_attr(graph, "kind", lambda v: v == value)


class _FlagMethod(SelectorMethod):
    """``method:true`` or ``method:false``."""

    def search(self, graph: LineageGraph, value: str, fail: Callable[[str], NoReturn]) -> set[str]:
        flag = _BOOLS.get(value.lower())
        if flag is None:
            fail(f"{self.name}:{value} must be {self.name}:true or {self.name}:false")
        return self.matches(graph, flag)

    def matches(self, graph: LineageGraph, flag: bool) -> set[str]:
        raise NotImplementedError


@selector_method
class ConsumersMethod(_FlagMethod):
    """``consumers:true``: insights, dashboards, notebooks, endpoints and alerts; false everything else."""

    name = "consumers"
    example = "false"

    def matches(self, graph: LineageGraph, flag: bool) -> set[str]:
        return _match_attr(graph, "kind", lambda v: (v in CONSUMER_KINDS) is flag)


@selector_method
class GhostMethod(_FlagMethod):
    """``ghost:true``: nodes the crawl knows only by reference; a node without the flag is a live one."""

    name = "ghost"
    example = "true"

    def matches(self, graph: LineageGraph, flag: bool) -> set[str]:
        return _match_attr(graph, "ghost", lambda v: bool(v) is flag)


@selector_method
class MaterializedMethod(_FlagMethod):
    """``materialized:true``: materialized saved queries; tables are neither materialized nor not."""

    name = "materialized"
    example = "true"

    def matches(self, graph: LineageGraph, flag: bool) -> set[str]:
        return _match_attr(graph, "is_materialized", lambda v: isinstance(v, bool) and v is flag)


#: The names of the selector methods, sorted (the HTML explorer carries them into the page).
METHODS = tuple(sorted(SELECTOR_METHODS))


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
