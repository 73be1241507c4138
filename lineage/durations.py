"""One parser for the durations users type (``90m``, ``6h``, ``2d``), whose grammar each caller chooses.

Three settings read a duration, each with the grammar it has always had:

- a crawl's ``jobs_since`` (:data:`JOBS_WINDOW`): a whole number and a unit m, h, d or w, spaces
  allowed around and between them, at most ten years;
- ``jobs``' ``since`` (:data:`JOBS_SINCE`): any positive number, fractions too (``1.5h``), a bare
  number is seconds, units s to w in either case;
- ``watch``'s ``every`` (:data:`WATCH_EVERY`): a positive whole number and a unit s, m, h or d.

:func:`parse_seconds` reads one with a :class:`Grammar` and raises :class:`DurationError` when it
cannot; the caller turns that into its own message, naming its own parameter.

>>> parse_seconds("90m", JOBS_SINCE), parse_seconds("1.5h", JOBS_SINCE), parse_seconds("30", JOBS_SINCE)
(5400.0, 5400.0, 30.0)
>>> parse_seconds("2d", WATCH_EVERY)
172800.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "JOBS_SINCE",
    "JOBS_WINDOW",
    "WATCH_EVERY",
    "DurationError",
    "Grammar",
    "parse_seconds",
    "parse_timedelta",
]

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400


class DurationError(ValueError):
    """Text that is not a duration of the grammar; ``too_long`` when it is one, but over the bound."""

    def __init__(self, text: str, *, too_long: bool = False) -> None:
        super().__init__(text)
        self.too_long = too_long


@dataclass(frozen=True)
class Grammar:
    """What a duration may look like.

    ``units`` maps each unit letter to its seconds. ``fractions``: any number Python's ``float``
    reads (``1.5``, ``1e3``), else whole decimal digits only. ``bare``: the unit of a number written
    without one (``None``: a unit is required). ``ignore_case``: ``6H`` is ``6h``. ``spaced``: spaces
    may stand between the number and its unit. ``zero``: ``0d`` is a duration. ``most``: the longest
    duration in seconds, counted in whole units rounded up (ten years is at most 523 weeks).
    """

    units: Mapping[str, int]
    fractions: bool = False
    bare: str | None = None
    ignore_case: bool = False
    spaced: bool = False
    zero: bool = False
    most: float | None = None


#: A crawl's ``jobs_since`` window: ``30d``, ``12h``, ``90m``, ``2w``; ten years at most.
JOBS_WINDOW = Grammar(
    units={"m": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}, spaced=True, zero=True, most=3660 * DAY
)
#: ``jobs --since``: ``90m``, ``1.5h``, ``2d``, ``1w`` or plain seconds.
JOBS_SINCE = Grammar(
    units={"s": 1, "m": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}, fractions=True, bare="s", ignore_case=True
)
#: ``watch --every``: ``30s``, ``15m``, ``2h``, ``1d``.
WATCH_EVERY = Grammar(units={"s": 1, "m": MINUTE, "h": HOUR, "d": DAY}, ignore_case=True)


def parse_seconds(text: str | None, grammar: Grammar) -> float:
    """``text`` as seconds under ``grammar``; DurationError when it is not one of its durations."""
    raw = (text or "").strip()
    if grammar.ignore_case:
        raw = raw.lower()
    unit = raw[-1:]
    if unit and unit in grammar.units:
        number = raw[:-1]
    elif grammar.bare is not None:
        unit, number = grammar.bare, raw
    else:
        raise DurationError(raw)
    if grammar.spaced:
        number = number.rstrip()
    value = _number(number, grammar.fractions)
    if (
        value is None
        or (isinstance(value, float) and not math.isfinite(value))
        or value < 0
        or (value == 0 and not grammar.zero)
    ):
        raise DurationError(raw)
    if grammar.most is not None and value > math.ceil(grammar.most / grammar.units[unit]):
        raise DurationError(raw, too_long=True)
    try:
        seconds = float(value * grammar.units[unit])  # whole numbers multiply exactly, as ints
    except OverflowError:
        raise DurationError(raw, too_long=True) from None
    if not math.isfinite(seconds):
        raise DurationError(raw, too_long=True)
    return seconds


def parse_timedelta(text: str | None, grammar: Grammar) -> timedelta:
    """:func:`parse_seconds` as a timedelta; longer than a timedelta holds is ``too_long``."""
    seconds = parse_seconds(text, grammar)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise DurationError(str(text), too_long=True) from None


_WHOLE = re.compile(r"\d+")


def _number(text: str, fractions: bool) -> int | float | None:
    if fractions:
        try:
            return float(text)
        except ValueError:
            return None
    return int(text) if _WHOLE.fullmatch(text) else None
