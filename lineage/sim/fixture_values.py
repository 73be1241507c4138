"""Checks on the raw values of a simulator fixture (lists, objects, ISO 8601 times), each raising a
:class:`lineage.errors.FixtureError` that names where in the fixture the value sits.

Shared by the team's loader (:mod:`lineage.sim.fixture`) and the consumer store
(:mod:`lineage.sim.consumers`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lineage.errors import FixtureError

__all__ = ["as_dict", "as_list", "opt_time", "parse_time"]


def parse_time(value: Any, where: str) -> datetime:
    """An ISO 8601 time (or datetime) as an aware UTC datetime; naive times are UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FixtureError(
                f"{where}: {value!r} is not an ISO 8601 time; write e.g. 2026-01-01T00:00:00Z"
            ) from None
    else:
        raise FixtureError(f"{where}: expected an ISO 8601 time string, got {type(value).__name__}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def opt_time(value: Any, where: str) -> datetime | None:
    """:func:`parse_time`, or None for None."""
    return None if value is None else parse_time(value, where)


def as_list(value: Any, where: str) -> list[Any]:
    """``value`` as a list (None is empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FixtureError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def as_dict(value: Any, where: str) -> dict[str, Any]:
    """``value``, which must be a JSON object."""
    if not isinstance(value, dict):
        raise FixtureError(f"{where}: expected an object, got {type(value).__name__}")
    return value
