"""The ClickHouse functions and DateTime text the simulator's query API needs inside SQLite.

:func:`register_functions` adds them to a connection (``toDateTime``, ``JSONExtractString``'s helper,
date arithmetic, ``multiIf``, ``like``, ...); DateTimes live in SQLite as canonical text
(``2026-01-01 00:00:00.000000``, :func:`to_ts`), so they compare and sort as strings.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["TS_RE", "ch_dt_add", "ch_json_extract_string", "from_ts", "is_ts", "register_functions", "to_ts"]

_TS_FORMAT: Final = "%Y-%m-%d %H:%M:%S.%f"
TS_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
_UNITS: Final = {
    "SECOND": 1,
    "MINUTE": 60,
    "HOUR": 3600,
    "DAY": 86400,
    "WEEK": 7 * 86400,
}


def to_ts(value: Any) -> Any:
    """A value as the canonical DateTime text when it is one (ISO text, epoch seconds); else unchanged."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if TS_RE.match(text):
            return text
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return value
    else:
        return value
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.year >= 1000:
        # The same text as strftime(_TS_FORMAT), several times faster: system tables hold a few
        # hundred thousand timestamps at 20,000 views, converted on every query.
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    return moment.strftime(_TS_FORMAT)


def from_ts(text: str) -> datetime:
    return datetime.strptime(text, _TS_FORMAT).replace(tzinfo=UTC)


# --- ClickHouse functions SQLite lacks -------------------------------------------------------------


def _ch_to_string(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def ch_json_extract_string(doc: Any, *keys: Any) -> str:
    """ClickHouse's JSONExtractString: '' for a missing key, a non-string value or broken JSON."""
    if not isinstance(doc, str):
        return ""
    try:
        node = json.loads(doc)
    except ValueError:
        return ""
    for key in keys:
        if isinstance(node, dict) and isinstance(key, str) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key != 0 and abs(key) <= len(node):
            node = node[key - 1 if key > 0 else key]  # ClickHouse indexes from 1
        else:
            return ""
    return node if isinstance(node, str) else ""


def ch_dt_add(value: Any, amount: Any, unit: Any) -> Any:
    ts = to_ts(value)
    if not isinstance(ts, str) or not TS_RE.match(ts) or not isinstance(amount, int | float):
        return None
    moment = from_ts(ts)
    unit = str(unit).upper().rstrip("S")
    if unit in ("MONTH", "QUARTER", "YEAR"):
        months = int(amount) * {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[unit]
        total = moment.year * 12 + moment.month - 1 + months
        year, month = divmod(total, 12)
        day = min(moment.day, [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month])
        moment = moment.replace(year=year, month=month + 1, day=day)
    elif unit in _UNITS:
        moment += timedelta(seconds=float(amount) * _UNITS[unit])
    else:
        return None
    return moment.strftime(_TS_FORMAT)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _ch_to_date(value: Any) -> Any:
    ts = to_ts(value)
    return ts[:10] if isinstance(ts, str) and TS_RE.match(ts) else None


def _ch_to_int(value: Any) -> Any:
    try:
        return int(float(value)) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _ch_to_float(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ch_unix(value: Any) -> Any:
    ts = to_ts(value)
    return int(from_ts(ts).timestamp()) if isinstance(ts, str) and TS_RE.match(ts) else None


def _ch_multi_if(*args: Any) -> Any:
    for i in range(0, len(args) - 1, 2):
        if args[i]:
            return args[i + 1]
    return args[-1] if len(args) % 2 else None


_LIKE_CACHE: dict[str, re.Pattern[str]] = {}


def _like_regex(pattern: str) -> re.Pattern[str]:
    found = _LIKE_CACHE.get(pattern)
    if found is None:
        out, i = [], 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\" and i + 1 < len(pattern):
                out.append(re.escape(pattern[i + 1]))
                i += 2
                continue
            out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
            i += 1
        found = re.compile("".join(out), re.DOTALL)
        if len(_LIKE_CACHE) < 1000:
            _LIKE_CACHE[pattern] = found
    return found


def _ch_like(pattern: Any, value: Any, *_escape: Any) -> Any:
    """ClickHouse LIKE is case-sensitive (SQLite's is not); ILIKE arrives lower-cased on both sides."""
    if pattern is None or value is None:
        return None
    return 1 if _like_regex(str(pattern)).fullmatch(_ch_to_string(value)) else 0


def _ch_regexp(pattern: Any, value: Any) -> Any:
    if pattern is None or value is None:
        return None
    try:
        return 1 if re.search(str(pattern), _ch_to_string(value)) else 0
    except re.error:
        return 0


def _text_fn(fn: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else fn(_ch_to_string(v))


def register_functions(conn: sqlite3.Connection, now: Callable[[], str]) -> None:
    functions: list[tuple[str, int, Callable[..., Any]]] = [
        ("now", 0, now),
        ("today", 0, lambda: now()[:10]),
        ("toString", 1, _ch_to_string),
        ("_ch_ts", 1, to_ts),
        ("toDateTime", 1, to_ts),
        ("toDateTime64", 1, to_ts),
        ("parseDateTimeBestEffort", 1, to_ts),
        ("parseDateTimeBestEffortOrNull", 1, lambda v: v if v is None else (to_ts(v) if is_ts(v) else None)),
        ("toDate", 1, _ch_to_date),
        ("_ch_dt_add", 3, ch_dt_add),
        ("_ch_json_extract_string", -1, ch_json_extract_string),
        ("toInt", 1, _ch_to_int),
        ("toInt64", 1, _ch_to_int),
        ("toUInt64", 1, _ch_to_int),
        ("toInt32", 1, _ch_to_int),
        ("toFloat", 1, _ch_to_float),
        ("toFloat64", 1, _ch_to_float),
        ("toUnixTimestamp", 1, _ch_unix),
        ("multiIf", -1, _ch_multi_if),
        ("lower", 1, _text_fn(str.lower)),
        ("upper", 1, _text_fn(str.upper)),
        ("startsWith", 2, lambda s, p: None if s is None or p is None else int(str(s).startswith(str(p)))),
        ("starts_with", 2, lambda s, p: None if s is None or p is None else int(str(s).startswith(str(p)))),
        ("endsWith", 2, lambda s, p: None if s is None or p is None else int(str(s).endswith(str(p)))),
        ("empty", 1, lambda v: int(v is None or v == "")),
        ("notEmpty", 1, lambda v: int(not (v is None or v == ""))),
        ("isNull", 1, lambda v: int(v is None)),
        ("isNotNull", 1, lambda v: int(v is not None)),
        ("replaceAll", 3, lambda s, a, b: None if s is None else str(s).replace(str(a), str(b))),
        ("like", 2, _ch_like),
        ("like", 3, _ch_like),
        ("regexp", 2, _ch_regexp),
    ]
    volatile = {"now", "today"}
    for name, argc, fn in functions:
        # The others are pure: SQLite may then evaluate a call on constants once per query, not once
        # per row (``created_at >= toDateTime({since})`` over 70,000 jobs).
        conn.create_function(name, argc, fn, deterministic=name not in volatile)


def is_ts(value: Any) -> bool:
    converted = to_ts(value)
    return isinstance(converted, str) and bool(TS_RE.match(converted))
