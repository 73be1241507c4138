"""The simulated team's records (users, keys, tables, views, folders, jobs) and the clock they live by.

Plain data: :mod:`lineage.sim.fixture` fills them from a fixture and :class:`lineage.sim.state.Warehouse`
changes them as PostHog would. Ids are deterministic (:func:`det_uuid`), so a fixture served twice
answers with the same ids.
"""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = [
    "JOB_STATUSES",
    "ExternalJob",
    "Folder",
    "Job",
    "KeyInfo",
    "SimClock",
    "Table",
    "User",
    "View",
    "canon_uuid",
    "det_uuid",
    "render_time",
    "rows_for",
    "source_id",
    "table_labels",
]

_NS: Final = uuid.UUID("6f1d3c5e-2b7a-4f0e-9c1d-5a8b7e6f4d21")
JOB_STATUSES: Final = ("Running", "Completed", "Failed", "Cancelled", "Skipped")


def render_time(value: datetime | None) -> str | None:
    """PostHog's orjson ``OPT_UTC_Z`` rendering: ``...Z``, microseconds only when non-zero."""
    if value is None:
        return None
    return _render_time(value)


@functools.lru_cache(maxsize=65536)
def _render_time(value: datetime) -> str:
    # every listing page renders every row's times again: the same few thousand datetimes
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def det_uuid(*parts: object, namespace: uuid.UUID = _NS) -> str:
    """A UUID made from ``parts`` (the same parts, the same UUID): ids stay stable across runs."""
    return str(uuid.uuid5(namespace, "\x1f".join(str(p) for p in parts)))


@functools.lru_cache(maxsize=4096)
def _user_uuid(kind: str, user_id: int) -> str:
    """A user's ``uuid``/``distinct_id``, asked again for every view of every listing page."""
    return det_uuid(kind, user_id)


def canon_uuid(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None


@dataclass(frozen=True)
class KeyInfo:
    """A personal API key of the fixture: its scopes, the team ids it may use (None = any), its owner."""

    key: str
    scopes: frozenset[str]
    projects: frozenset[int] | None
    user_id: int
    # The owner's RBAC for the query API: HogQL system tables this key's user may not read, and
    # whether the organization is over its query quota (402).
    denied_tables: frozenset[str] = frozenset()
    over_quota: bool = False
    # Consumer resources (insight, dashboard, notebook, endpoint, alert) whose access level is
    # "none" for the owner: their REST routes answer 403 and their system tables are denied.
    no_access: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"KeyInfo(key='[redacted]', scopes={sorted(self.scopes)}, user_id={self.user_id})"


class SimClock:
    """Simulated UTC clock: starts at the fixture's ``now`` and runs at real speed, plus advances."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = (start or datetime(2026, 1, 1, tzinfo=UTC)).astimezone(UTC)
        self._t0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> datetime:
        """The simulated time (tz-aware UTC)."""
        return self._start + timedelta(seconds=time.monotonic() - self._t0 + self._offset)

    def advance(self, seconds: float) -> None:
        """Jump the clock forward (tests, demos)."""
        self._offset += seconds


@dataclass
class User:
    id: int
    first_name: str
    last_name: str
    email: str
    is_staff: bool = False

    def basic(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uuid": _user_uuid("user", self.id),
            "distinct_id": _user_uuid("distinct", self.id),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "is_email_verified": True,
            "hedgehog_config": None,
            "role_at_organization": None,
        }


@dataclass
class Table:
    id: str  # dashed UUID for warehouse tables, the name for PostHog tables
    name: str
    kind: str  # "posthog" | "warehouse"
    created_at: datetime
    format: str = "Parquet"
    source_type: str | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)
    created_by: int | None = None
    # A sourced table's source prefix and the dotted name SQL uses (PostHog's hogql_name, derived from
    # source type, prefix and name when a fixture gives none: lineage.sim.fixture).
    prefix: str | None = None
    hogql_name: str | None = None

    @property
    def sql_name(self) -> str:
        return self.hogql_name or self.name


@dataclass
class View:
    id: str
    name: str
    sql: str
    parents: list[str]
    created_at: datetime
    created_by: int | None
    description: str | None = None
    origin: str | None = "data_warehouse"
    managed_kind: str | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)
    updated_at: datetime | None = None
    deleted: bool = False
    deleted_at: datetime | None = None
    deleted_name: str | None = None
    status: str | None = None
    last_run_at: datetime | None = None
    latest_error: str | None = None
    is_materialized: bool = False
    sync_frequency: str | None = None
    folder_id: str | None = None
    is_test: bool = False
    run_seconds: float = 30.0
    fail_runs: bool = False
    activity_id: int | str | None = None
    schedule_paused: bool = False
    # simulator hooks for PostHog's own failure answers (fixture keys of the same names)
    fail_materialize: bool = False
    fail_cancel: bool = False
    # newest PostHog (E3) fields
    is_incremental: bool = False
    incremental: dict[str, Any] | None = None
    suspended: bool = False
    expires_at: datetime | None = None


@dataclass
class Folder:
    id: str
    name: str
    created_at: datetime
    created_by: int | None


@dataclass
class Job:
    id: str
    view_id: str | None
    status: str
    rows_materialized: int
    rows_expected: int | None
    error: str | None
    created_at: datetime
    last_run_at: datetime | None
    workflow_id: str | None
    workflow_run_id: str | None
    engine: str = "clickhouse"
    seq: int = 0
    finishes_at: datetime | None = None
    cancelled: bool = False
    fail: bool = False
    run_mode: str | None = None
    full_refresh_reason: str | None = None
    updated_at: datetime | None = None


@dataclass
class ExternalJob:
    id: str
    source_type: str
    name: str
    status: str
    rows_synced: int
    created_at: datetime
    finished_at: datetime | None
    latest_error: str | None
    workflow_run_id: str | None


def table_labels(table: Table) -> tuple[str, ...]:
    if table.kind == "posthog":
        return tuple(table.name.split("."))
    return (uuid.UUID(table.id).hex,)


def source_id(table: Table) -> str:
    """One simulated source per (source type, prefix); unprefixed ids are as before prefixes existed."""
    if table.prefix:
        return det_uuid("source", table.source_type, table.prefix)
    return det_uuid("source", table.source_type)


def rows_for(view_id: str) -> int:
    return 1000 + int(hashlib.sha256(view_id.encode()).hexdigest()[:4], 16) % 9000
