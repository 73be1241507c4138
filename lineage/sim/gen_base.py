"""The parts of a simulator fixture that every generator shares: format, clock, ids, random draws, keys.

Ids are uuid5 in a namespace derived from the seed (:func:`namespace_for_seed`) and every random choice
comes from a :class:`random.Random` seeded by ``(seed, kind, name)`` (:func:`seeded_rngs`), so fixtures
are pure functions of their input and seed. Used by :mod:`lineage.sim.generate`, :mod:`lineage.sim.replay`
and :mod:`lineage.sim.demo`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

FORMAT: Final = "lineage-sim-fixture/1"
NOW: Final = datetime(2026, 11, 26, tzinfo=UTC)
READ_KEY: Final = "phx_demo_read"
WRITE_KEY: Final = "phx_demo_write"
_FIRST_NAMES: Final = (("Ada", "Lovelace"), ("Grace", "Hopper"))


def namespace_for_seed(seed: int) -> uuid.UUID:
    """The uuid5 namespace every id of a fixture made with ``seed`` is derived in."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://lineage.invalid/sim-fixture/seed/{seed}")


def iso(ts: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` and whole seconds, the form fixtures use."""
    return ts.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_rngs(seed: int) -> Callable[[str, str], random.Random]:
    """``make(kind, name)``: a Random seeded by (seed, kind, name); one node's draws never shift another's."""

    def make(kind: str, name: str) -> random.Random:
        return random.Random(f"{seed}\x1f{kind}\x1f{name}")

    return make


# The read key may list consumers over REST too (the crawl's fallback when system tables are refused).
CONSUMER_READ_SCOPES: Final = (
    "alert:read",
    "dashboard:read",
    "endpoint:read",
    "insight:read",
    "notebook:read",
)


def base_document(*, users: int = 2) -> dict[str, Any]:
    """The parts every fixture shares: format, clock, two API keys and the users."""
    people = [
        {"id": i + 1, "first_name": first, "last_name": last, "email": f"{first.lower()}@example.com"}
        for i, (first, last) in enumerate(_FIRST_NAMES[:users])
    ]
    return {
        "format": FORMAT,
        "team_id": 1,
        "now": iso(NOW),
        "api_keys": [
            {
                "key": READ_KEY,
                "scopes": [
                    "query:read",
                    "warehouse_table:read",
                    "warehouse_view:read",
                    *CONSUMER_READ_SCOPES,
                ],
                "user": 1,
            },
            {
                "key": WRITE_KEY,
                "scopes": ["query:read", "warehouse_table:read", "warehouse_view:write"],
                "user": 1,
            },
        ],
        "users": people,
    }
