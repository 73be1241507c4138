"""JSON through orjson where it gives the same result as the standard library, else the standard library.

Snapshots of 20,000 views are 40 MB: ``json.loads`` takes about twice as long as ``orjson.loads``,
and ``json.dumps(..., indent=...)`` runs the pure-Python encoder (the C one only serves compact
output), seven times slower than orjson. Every function here returns what its standard library
counterpart returns (same objects, same bytes, same exceptions), falling back to ``json`` whenever
orjson could differ, with one exception said below:

* reading: orjson refuses what ``json`` accepts beyond RFC 8259 (``NaN``, ``Infinity``, numbers
  beyond a double, lone surrogate escapes, nesting past 1,024): on any orjson error the text is parsed
  again by ``json``, which then gives its own result or its own error. The exception: an integer
  beyond 64 bits (above 18446744073709551615, which neither PostHog nor ClickHouse produce) comes back
  as the nearest float, where ``json`` gives an int; spotting one in the text first cost a third of
  the parse of a 40 MB snapshot;
* writing: orjson prints floats below 1e-4 as ``0.00001`` or ``1e-7`` where Python prints ``1e-05`` and
  ``1e-07``; an output with a digit, ``e-`` and a digit, or with ``0.0000``, is written again by
  ``json`` (text that merely looks like that inside a string costs time, never correctness). Objects
  orjson would serialize its own way (dataclasses, datetimes, float subclasses such as numpy's) go to
  ``json`` too, and so do non-finite floats, which ``json`` writes as ``NaN``/``Infinity`` (or refuses
  with ``allow_nan=False``) and orjson as ``null``. Enums are the one difference left (orjson writes
  their value, ``json`` what ``default`` makes of them): no caller passes one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from enum import Enum
from itertools import chain
from typing import Any

try:  # orjson is a dependency; without it (an odd install) everything still works, slower.
    import orjson
except ImportError:  # pragma: no cover - exercised only on installs without orjson
    orjson = None  # type: ignore[assignment]

__all__ = [
    "dumps_compact",
    "dumps_indented",
    "dumps_indented_utf8",
    "dumps_items",
    "dumps_line",
    "dumps_list",
    "loads",
    "try_fast_loads",
]

# Output orjson may print differently from json: a small float in either notation. Candidates are found
# by a scan for the number's tail at the end of a line (with indentation a number stands alone on its
# line, after a key or not, and no string holds a raw line break: ids such as "8e-4b..." are passed
# over), then the line holding one is checked.
_CANDIDATES = (re.compile(rb"e-\d+,?(?:\n|\Z)"), re.compile(rb"0\.0000\d*,?(?:\n|\Z)"))
_NUMBER_LINE = re.compile(rb' *(?:"(?:[^"\\]|\\.)*": )?-?(?:\d+(?:\.\d+)?e-\d+|0\.0000\d*),?')


def _risky(text: bytes) -> bool:
    """Whether ``text`` (indented JSON) holds a number below 1e-4 that orjson may print its own way."""
    exponent = _CANDIDATES[0]
    for pattern in _CANDIDATES:
        for match in pattern.finditer(text):
            at = match.start()
            if pattern is exponent and not text[at - 1 : at].isdigit():
                continue
            start = text.rfind(b"\n", 0, at) + 1
            end = text.find(b"\n", at)
            if _NUMBER_LINE.fullmatch(text, start, end if end >= 0 else len(text)):
                return True
    return False


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``, through orjson when orjson parses it."""
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def try_fast_loads(data: bytes) -> tuple[bool, Any]:
    """``(True, value)`` when orjson parses ``data`` (UTF-8 JSON; the value ``json.loads`` gives its
    text, but for the difference said above); ``(False, None)`` for anything else."""
    if orjson is not None:
        try:
            return True, orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return False, None


class _Fallback(Exception):
    """orjson met a value it would write differently from json."""


def _passthrough(default: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def hook(value: Any) -> Any:
        if default is None or isinstance(value, float | Enum):
            raise _Fallback
        result = default(value)
        if not isinstance(result, str):  # str is all callers use; anything else: let json decide
            raise _Fallback
        return result

    return hook


def dumps_indented(
    data: Any,
    *,
    indent: int = 2,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
    allow_nan: bool = True,
    finite: bool = False,
) -> str:
    """``json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False, default=default,
    allow_nan=allow_nan)``, byte for byte, through orjson when it can be.

    ``finite=True`` is the caller's promise that ``data`` holds no NaN or infinite float (orjson would
    write ``null``); without it the result is checked, which costs a walk over ``data``.
    """
    text = dumps_indented_utf8(
        data, indent=indent, sort_keys=sort_keys, default=default, allow_nan=allow_nan, finite=finite
    )
    return text.decode() if isinstance(text, bytes) else text


def dumps_indented_utf8(
    data: Any,
    *,
    indent: int = 2,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
    allow_nan: bool = True,
    finite: bool = False,
) -> bytes | str:
    """:func:`dumps_indented`'s text: its UTF-8 bytes when orjson wrote it, else ``json``'s str. A file
    writer takes either, and a snapshot of 50 MB is neither decoded here nor encoded again there."""
    if indent in (1, 2) and (finite or not _has_non_finite(data)):
        raw = _orjson_indented(data, sort_keys=sort_keys, default=default)
        if raw is not None:
            return _halve_indentation(raw) if indent == 1 else raw
    return json.dumps(
        data, indent=indent, sort_keys=sort_keys, ensure_ascii=False, default=default, allow_nan=allow_nan
    )


def dumps_items(items: list[Any], *, depth: int) -> bytes:
    """The elements of ``items`` as ``json.dumps(..., indent=1, ensure_ascii=False, allow_nan=False)``
    writes them inside a list that stands ``depth`` levels deep in a document: the list's text
    without its brackets and the line break before its closing one (each element on a line of its
    own, after a comma for all but the first). The caller promises ``items`` holds no non-finite
    float (``finite=True`` of :func:`dumps_indented`), and passes a non-empty list.

    A snapshot is written a few hundred nodes at a time with it, so that its 50 MB of text never
    stand in memory at once; orjson's two-space indentation is halved and deepened by ``depth`` in
    the same passes."""
    raw = _orjson_indented(items)
    if raw is not None:  # b"[\n  item,\n  item\n]": the brackets and the last break go
        return _halve_indentation(raw[1:-2], deeper=depth)
    text = json.dumps(items, indent=1, ensure_ascii=False, allow_nan=False)
    return text[1:-2].replace("\n", "\n" + " " * depth).encode("utf-8")


def _orjson_indented(
    data: Any, *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None
) -> bytes | None:
    """orjson's two-space text of ``data`` when it is ``json``'s but for the indentation's width
    (the caller has ruled out non-finite floats); None when orjson is missing, refuses ``data`` or
    may have spelt a number its own way."""
    if orjson is not None:
        option = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
        if sort_keys:
            option |= orjson.OPT_SORT_KEYS
        try:
            raw = orjson.dumps(data, default=_passthrough(default), option=option)
        except (_Fallback, TypeError, orjson.JSONEncodeError):
            return None
        if not _risky(raw):
            return raw
    return None


def dumps_compact(data: Any) -> bytes:
    """``json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))`` as UTF-8 (the
    body starlette's JSONResponse writes), through orjson where its bytes are those: the simulator
    answers a page of 50,000 jobs (17 MB) with it. orjson spells some numbers its own way (``1e16``
    where json writes ``1e+16``, ``0.000061`` for ``6.1e-05``): text holding what may be one,
    integers beyond 64 bits, NaN and infinities (refused, as json refuses them), subclasses, dates
    and dataclasses go through json."""
    if orjson is not None:
        option = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
        option |= orjson.OPT_PASSTHROUGH_DATACLASS
        try:
            raw = orjson.dumps(data, default=_passthrough(None), option=option)
        except (_Fallback, TypeError, orjson.JSONEncodeError):
            pass
        else:
            # the floats are looked at, not the text: a null orjson wrote for NaN is not told from
            # a real one, and looking for numbers in 17 MB of text cost more than writing it
            if not _has_float(data, _spelt_otherwise):
                return raw
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


def dumps_line(data: Any) -> bytes:
    """One line of JSON (UTF-8) with sorted keys that ``json.loads`` reads back as it reads
    ``json.dumps(data, sort_keys=True)`` (the same values, not the same bytes: no spaces after
    separators, text as UTF-8 rather than ``\\u`` escapes), through orjson when it can be: a crawl's
    journal writes 70,000 job records at 20,000 views, 25 MB in one line, as bytes that are neither
    decoded nor encoded again. NaN and infinities, integers beyond 64 bits, subclasses, dates and
    dataclasses go through json as before (its output, or its error).
    """
    if orjson is not None and not _has_non_finite(data):
        option = (
            orjson.OPT_SORT_KEYS
            | orjson.OPT_PASSTHROUGH_SUBCLASS
            | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS
        )
        try:
            return orjson.dumps(data, option=option)
        except (TypeError, orjson.JSONEncodeError):
            pass
    return json.dumps(data, sort_keys=True).encode("ascii")  # ensure_ascii: nothing else in it


def dumps_list(items: list[Any]) -> str | None:
    """``json.dumps(items, ensure_ascii=False, sort_keys=True)``, byte for byte, for an empty list or
    a list of strings none of which holds a character ``json`` escapes (a quote, a backslash, a
    control character); None for any other list, which the caller gives to ``json``. A 20,000-view
    export writes 20,000 lists of column names, where building a ``json`` encoder for each costs
    more than the encoding.
    """
    if not items:
        return "[]"
    if set(map(type, items)) != _STR:  # exact str: a subclass may print itself its own way
        return None
    joined = '", "'.join(items)
    if joined.count('"') != 2 * len(items) - 2 or _ESCAPED.search(joined):
        return None
    return f'["{joined}"]'


_STR: frozenset[type] = frozenset({str})
# What json.dumps(ensure_ascii=False) escapes in a string, but for the quote (counted instead).
_ESCAPED = re.compile(r"[\x00-\x1f\\]")


def _halve_indentation(text: bytes, *, deeper: int = 0) -> bytes:
    """Two spaces per level -> one, and ``deeper`` more levels on every line after a line break (for
    text whose lines all start indented). JSON text holds no raw newline or control character inside
    a string, so every line starts with its indentation alone, and \x01 is free to mark done lines.

    The text is converted in pieces of about 16 KB cut at line starts: each piece's passes (one per
    level) run in the processor's cache instead of going over a snapshot's 50 MB once per level.
    """
    depth = 1
    while b"\n" + b"  " * (depth + 1) in text:
        depth += 1
    # Deepest first: a converted line starts with \x01, so shallower passes do not touch it again.
    passes = [(b"\n" + b"  " * level, b"\n" + b"\x01" * (level + deeper)) for level in range(depth, 0, -1)]
    pieces = []
    start, size = 0, len(text)
    while start < size:
        end = text.find(b"\n", start + _PIECE)
        if end < 0:
            end = size
        piece = text[start:end]
        for two, one in passes:
            piece = piece.replace(two, one)
        pieces.append(piece.translate(_MARKS_TO_SPACES))  # a byte table: twice as fast as replace
        start = end
    return b"".join(pieces)


_PIECE = 1 << 14
_MARKS_TO_SPACES = bytes.maketrans(b"\x01", b" ")


def _has_non_finite(data: Any) -> bool:
    """Whether a NaN or infinite float is anywhere in ``data`` (plain dicts, lists and tuples).

    Each container's values are sorted by type in C (``set(map(type, ...))``): only one holding
    floats is searched for a non-finite one, and only one holding containers is descended into, so
    the 70,000 flat rows of a job listing cost one set each instead of one step per value.
    """
    return _has_float(data, _non_finite)


def _non_finite(value: float) -> bool:
    return not math.isfinite(value)


def _spelt_otherwise(value: float) -> bool:
    """A float orjson and json may spell differently: json's ``repr`` turns to an exponent below
    1e-4 and from 1e16 on; NaN and infinities json refuses."""
    size = abs(value)
    return (not 1e-4 <= size < 1e16 and size != 0.0) or value != value


def _has_float(data: Any, odd: Callable[[float], bool]) -> bool:
    """Whether a float for which ``odd`` holds is anywhere in ``data`` (see :func:`_has_non_finite`).

    Containers nested in one container are flattened a level at a time in C when they are all dicts
    (their values) or all lists and tuples (their items): 70,000 job records are then three passes,
    not 70,000 (only whether some value anywhere is an odd float matters, not where)."""
    if type(data) is float:
        return odd(data)
    stack = [data]
    while stack:
        value = stack.pop()
        kind = type(value)
        values = value.values() if kind is dict else value if kind is list or kind is tuple else None
        if values is None:
            continue
        kinds = set(map(type, values))
        if float in kinds and any(map(odd, (v for v in values if type(v) is float))):
            return True
        if dict in kinds or list in kinds or tuple in kinds:
            nested: list[Any] = [v for v in values if type(v) is dict or type(v) is list or type(v) is tuple]
            inner = set(map(type, nested))
            if inner == _DICT_ONLY:
                stack.append(list(chain.from_iterable(map(dict.values, nested))))
            elif inner <= _SEQUENCES:
                stack.append(list(chain.from_iterable(nested)))
            else:
                stack.extend(nested)
    return False


_DICT_ONLY: frozenset[type] = frozenset({dict})
_SEQUENCES: frozenset[type] = frozenset({list, tuple})
