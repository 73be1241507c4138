"""One duration parser, three grammars: each accepts and refuses exactly what its setting always did.

The three functions below are the parsers as they were before lineage.durations (a crawl's
``jobs_since``, ``jobs --since``, ``watch --every``), kept here as oracles: on any text, the one parser
under the caller's grammar must give the same duration, or refuse it with the same message.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lineage.crawl import parse_since as jobs_window
from lineage.durations import JOBS_SINCE, JOBS_WINDOW, WATCH_EVERY, DurationError, parse_seconds
from lineage.errors import InputError
from lineage.operate.actions import parse_since as jobs_since
from lineage.watch import parse_every


def old_jobs_window(text: str) -> timedelta | str:
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text or "")
    if not match:
        return "malformed"
    n, unit = int(match.group(1)), match.group(2)
    if n > {"m": 60 * 24 * 3660, "h": 24 * 3660, "d": 3660, "w": 523}[unit]:
        return "too long"
    return {
        "m": timedelta(minutes=n),
        "h": timedelta(hours=n),
        "d": timedelta(days=n),
        "w": timedelta(weeks=n),
    }[unit]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def old_jobs_since(text: str) -> timedelta | str:
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _UNITS else "s"
    number = raw[:-1] if raw[-1:] in _UNITS else raw
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if value <= 0:
        return "refused"
    try:
        return timedelta(seconds=value * _UNITS[unit])
    except (OverflowError, ValueError):
        return "refused"


def old_every(text: str) -> float | str:
    raw = (text or "").strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(raw) < 2 or raw[-1] not in units or not raw[:-1].isdigit() or int(raw[:-1]) < 1:
        return "refused"
    return float(int(raw[:-1]) * units[raw[-1]])


def new(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except InputError as exc:
        return str(exc)


# Texts near each grammar's edges: units of either case, spaces, signs, fractions, exponents, huge.
PIECES = st.sampled_from(
    [
        *["", " ", "\t", "0", "1", "7", "30", "523", "524", "3660", "3661", "87840", "87841", "5270401"],
        *["9" * 30, ".", ".5", "1.5", "-", "+", "e3", "E-2", "_0", "inf", "nan", "0x1", "\u0663", "\u00b2"],
        *"smhdwySMHDW",
    ]
)
TEXTS = st.lists(PIECES, max_size=4).map("".join) | st.text(max_size=8)


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
@example("523w")
@example("3661d")
@example("0d")
@example(" 30 d ")
@example("30D")
def test_jobs_window_accepts_and_refuses_what_it_did(text: str) -> None:
    old = old_jobs_window(text)
    got = new(jobs_window, text)
    if old == "malformed":
        assert got == f"jobs_since={text!r}: give a number and a unit m, h, d or w, such as 30d"
    elif old == "too long":
        assert got == f"jobs_since={text!r} reaches back more than ten years; give a shorter window"
    else:
        assert got == old


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
@example("1.5h")
@example("30")
@example("1e400")
@example("1e300w")
@example("nan")
@example("infh")
@example("-5m")
@example("5 H")
def test_jobs_since_accepts_and_refuses_what_it_did(text: str) -> None:
    old = old_jobs_since(text)
    got = new(jobs_since, text)
    if old == "refused":
        assert got == f"since={text!r} is not a duration; write e.g. 90m, 6h, 2d or 1w"
    else:
        assert got == old


@settings(max_examples=1500, deadline=None)
@given(TEXTS)
@example("15M")
@example("0s")
@example("5 m")
@example("\u0663m")  # an Arabic-Indic digit, which int() reads
def test_every_accepts_and_refuses_what_it_did(text: str) -> None:
    try:
        old: object = old_every(text)
    except (ValueError, OverflowError):  # "²m" passed isdigit() and crashed in int(): now refused
        old = "refused"
    got = new(parse_every, text)
    if old == "refused":
        assert got == f"every={text!r}: give a whole number and a unit s, m, h or d, such as 15m"
    else:
        assert got == old


@pytest.mark.parametrize(
    ("text", "grammar", "seconds"),
    [
        ("90m", JOBS_SINCE, 5400.0),
        ("0.5d", JOBS_SINCE, 43200.0),
        ("45", JOBS_SINCE, 45.0),
        ("2W", JOBS_SINCE, 1209600.0),
        ("0d", JOBS_WINDOW, 0.0),
        ("523w", JOBS_WINDOW, 523 * 7 * 86400.0),
        ("15M", WATCH_EVERY, 900.0),
    ],
)
def test_each_grammar_reads_its_forms(text: str, grammar: object, seconds: float) -> None:
    assert parse_seconds(text, grammar) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "grammar", "too_long"),
    [
        ("1.5h", JOBS_WINDOW, False),  # whole numbers only
        ("30", JOBS_WINDOW, False),  # a unit is required
        ("30D", JOBS_WINDOW, False),  # case matters
        ("3661d", JOBS_WINDOW, True),  # ten years at most
        ("1w", WATCH_EVERY, False),  # no weeks
        ("5 m", WATCH_EVERY, False),  # no space before the unit
        ("0s", WATCH_EVERY, False),  # positive
        ("1e305w", JOBS_SINCE, True),  # more seconds than a float holds
        ("inf", JOBS_SINCE, False),
        ("nan", JOBS_SINCE, False),
        ("9" * 400 + "d", WATCH_EVERY, True),
    ],
)
def test_each_grammar_refuses_the_others_forms(text: str, grammar: object, too_long: bool) -> None:
    with pytest.raises(DurationError) as info:
        parse_seconds(text, grammar)  # type: ignore[arg-type]
    assert info.value.too_long is too_long
