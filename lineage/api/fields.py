"""How the records of :mod:`lineage.api.models` and :mod:`lineage.api.consumer_models` read the
fields of an API answer: one tolerant reader per kind of value, and the two refusals.

Every reader answers ``None`` for a value it cannot read (a number where text is wanted, ``true``
where a number is), never raises: PostHog adds and retypes fields between versions, and an
odd field must not lose the whole record. Only a body that is not an object
(:func:`require_object`) or one without its identifying field (:func:`need`) is refused with
:class:`lineage.errors.ProtocolError`.

>>> as_int("42"), as_int(True), as_str(3), as_flag(1), parse_datetime("2025-05-01T00:00:00Z").year
(42, None, '3', True, 2025)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from lineage.errors import ProtocolError

__all__ = [
    "as_bool",
    "as_flag",
    "as_int",
    "as_mapping",
    "as_str",
    "json_value",
    "need",
    "parse_datetime",
    "raw_field",
    "ref_id",
    "require_object",
    "required_id",
]

_FRACTION = re.compile(r"(\.\d+)")


def parse_datetime(value: Any) -> datetime | None:
    """Parse an API timestamp into an aware UTC datetime; ``None`` for null or unparseable values.

    >>> parse_datetime("2025-05-01T00:00:00.1234567Z").isoformat()
    '2025-05-01T00:00:00.123456+00:00'
    >>> parse_datetime("2025-05-01 02:00:00+02:00").isoformat()
    '2025-05-01T00:00:00+00:00'
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            return None
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        # fromisoformat accepts at most 6 fraction digits; some serialisers emit 7 or 9
        text = _FRACTION.sub(lambda m: (m.group(1) + "000000")[:7], text, count=1)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        # PostHog renders UTC; a naive value is treated as UTC rather than local time
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def as_str(value: Any) -> str | None:
    """Text as given; a number as its text (ids come as either); else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def as_int(value: Any) -> int | None:
    """A whole number, given as a number, a whole float or decimal text; else None (``True`` too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 30:
        return int(value.strip())
    return None


def as_bool(value: Any) -> bool | None:
    """A JSON boolean, or ``"true"``/``"false"`` text in any case; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def as_flag(value: Any) -> bool | None:
    """A boolean as JSON, as text, or as ClickHouse's 0/1 (system tables)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return as_bool(value)


def as_mapping(value: Any) -> Mapping[str, Any] | None:
    """A copy of a JSON object; None for anything else."""
    return dict(value) if isinstance(value, Mapping) else None


def json_value(value: Any) -> Any:
    """A JSON column: parsed when it is JSON text (system tables), else as given."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def ref_id(value: Any) -> int | None:
    """A referenced record's id, given as a nested object (``{"id": 3, ...}``) or bare (``3``)."""
    return as_int(value.get("id")) if isinstance(value, Mapping) else as_int(value)


def require_object(data: Any, what: str) -> Mapping[str, Any]:
    """``data`` when it is a JSON object; else the answer is refused (``what`` names the record)."""
    if not isinstance(data, Mapping):
        raise ProtocolError(
            f"expected a JSON object for {what}, got {type(data).__name__}; "
            "the API answered in an undocumented shape: check the host and try again",
            body=None,
        )
    return data


def need(value: Any, what: str, key: str, *, article: str = "") -> Any:
    """``value``, unless it is missing or empty: then the answer is refused (``what`` lacks ``key``)."""
    if value is None or value == "":
        raise ProtocolError(
            f"{what} without {article}{key!r} in the API answer; the API answered in an undocumented shape",
            body=None,
        )
    return value


def required_id(data: Mapping[str, Any], what: str) -> str:
    """The record's ``id`` as text; refused when missing or empty."""
    ident: str = need(as_str(data.get("id")), what, "id", article="an ")
    return ident


def raw_field() -> Any:
    """The ``raw`` field of a record: the answer as given, kept out of equality, hashing and repr."""
    return field(default_factory=dict, compare=False, hash=False, repr=False)
