"""Typed, frozen records for what the PostHog API returns.

Every parser is tolerant: unknown fields are ignored (but kept in ``raw``), nulls and missing optional
fields become ``None`` (or an empty tuple), numbers given as strings are accepted, and timestamps are
parsed with or without fractions, ``Z`` or an offset. Only a body that is not an object, or an object
without its identifying ``id``, is refused with :class:`lineage.errors.ProtocolError`. The field
readers are :mod:`lineage.api.fields`, shared with :mod:`lineage.api.consumer_models`.

>>> SavedQuery.from_api({"id": "a", "name": "v", "query": {"kind": "HogQLQuery", "query": "SELECT 1"}}).sql
'SELECT 1'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

# the shared field readers, under the short names the parsers below call on every field
from lineage.api.fields import as_bool as _bool
from lineage.api.fields import as_int as _int
from lineage.api.fields import as_mapping as _opt_mapping
from lineage.api.fields import as_str as _str
from lineage.api.fields import parse_datetime
from lineage.api.fields import raw_field as _raw
from lineage.api.fields import require_object as _mapping
from lineage.api.fields import required_id as _required_id
from lineage.errors import ProtocolError

__all__ = [
    "ActivityRow",
    "Column",
    "DatabaseNameCheck",
    "Dependencies",
    "Folder",
    "HealthIssue",
    "Job",
    "RunHistoryEntry",
    "SavedQuery",
    "Table",
    "UserBasic",
    "ViewActivity",
    "ViewChange",
    "parse_datetime",
]


# The records a crawl holds by the ten thousand (users, columns, views, jobs) have slots: a
# 20,000-view crawl keeps 150,000 of them, without a __dict__ each.
@dataclass(frozen=True, slots=True)
class UserBasic:
    """PostHog's UserBasic serializer (``created_by`` everywhere)."""

    id: int | None = None
    uuid: str | None = None
    distinct_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self | None:
        """``None`` for null or non-object values: a missing creator is not an error."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            id=_int(data.get("id")),
            uuid=_str(data.get("uuid")),
            distinct_id=_str(data.get("distinct_id")),
            first_name=_str(data.get("first_name")),
            last_name=_str(data.get("last_name")),
            email=_str(data.get("email")),
            raw=dict(data),
        )

    @property
    def display_name(self) -> str:
        """First and last name, else the email, else an empty string."""
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or self.email or ""


@dataclass(frozen=True, slots=True)
class Column:
    """One inferred column of a saved query."""

    name: str
    type: str | None = None
    key: str | None = None
    schema_valid: bool | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any, *, keep_raw: bool = True) -> Self | None:
        """``keep_raw=False``: ``raw`` stays empty (see :meth:`SavedQuery.from_api`)."""
        if isinstance(data, str):
            return cls(name=data, raw={"name": data} if keep_raw else _NO_RAW)
        if not isinstance(data, Mapping):
            return None
        name = _str(data.get("name")) or _str(data.get("key"))
        if name is None:
            return None
        return cls(
            name=name,
            type=_str(data.get("type")),
            key=_str(data.get("key")),
            schema_valid=_bool(data.get("schema_valid")),
            raw=dict(data) if keep_raw else _NO_RAW,
        )


class _NoRaw(Mapping[str, Any]):
    """``raw`` of a record read with ``keep_raw=False``: empty and read-only, and, unlike a
    mappingproxy, copied, pickled and compared (equal to ``{}``) as a dict is."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


_NO_RAW: Mapping[str, Any] = _NoRaw()


def _columns(value: Any, *, keep_raw: bool = True) -> tuple[Column, ...]:
    if not isinstance(value, list):
        return ()
    if not keep_raw:
        return tuple(c for c in map(_bare_column, value) if c is not None)
    return tuple(c for c in (Column.from_api(v) for v in value) if c is not None)


def _bare_column(data: Any) -> Column | None:
    """``Column.from_api(data, keep_raw=False)``, one instance for each set of field values (columns
    repeat across views, and the instances are frozen): 130,000 columns of 20,000 views are read in
    a dict lookup each, and kept as a few thousand."""
    if type(data) is not dict:
        return Column.from_api(data, keep_raw=False)
    key = (data.get("name"), data.get("type"), data.get("key"), data.get("schema_valid"))
    # text, booleans and None alone: equal keys then mean equal values of equal types (1 == True
    # would read one column as another)
    if not _SHARED_KINDS.issuperset(map(type, key)):
        return Column.from_api(data, keep_raw=False)
    found = _BARE_COLUMNS.get(key, _MISSING)
    if found is _MISSING:
        if len(_BARE_COLUMNS) >= 65536:
            _BARE_COLUMNS.clear()
        found = _BARE_COLUMNS[key] = Column.from_api(data, keep_raw=False)
    return found  # type: ignore[return-value]


_SHARED_KINDS: frozenset[type] = frozenset({str, bool, type(None)})
_BARE_COLUMNS: dict[tuple[Any, ...], Column | None] = {}
_MISSING = object()


def _sql(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return _str(value.get("query"))
    return _str(value)


@dataclass(frozen=True, slots=True)
class SavedQuery:
    """A data-warehouse saved query (view or materialized view).

    The list endpoint omits ``query``, so ``sql`` is ``None`` on listed records; GET the view for it.
    """

    id: str
    name: str
    sql: str | None = None
    status: str | None = None
    sync_frequency: str | None = None
    is_materialized: bool = False
    last_run_at: datetime | None = None
    latest_error: str | None = None
    created_at: datetime | None = None
    created_by: UserBasic | None = None
    folder_id: str | None = None
    folder_name: str | None = None
    description: str | None = None
    origin: str | None = None
    deleted: bool = False
    managed_viewset_kind: str | None = None
    # The newest PostHog hands out the activity-log entry's UUID (a string); older PostHog an
    # integer, which is kept as its decimal text: either goes back unchanged as edited_history_id.
    latest_history_id: str | None = None
    columns: tuple[Column, ...] = ()
    # Newest-PostHog fields (absent, hence None/False, from older PostHog).
    updated_at: datetime | None = None
    is_incremental: bool = False
    incremental: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    suspended: bool = False
    is_test: bool = False
    expires_at: datetime | None = None
    sync_frequency_bounds: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    raw: Mapping[str, Any] = _raw()

    @property
    def folder(self) -> str | None:
        """The folder's name (what users see), ``None`` when the view is in no folder."""
        return self.folder_name

    @property
    def kind(self) -> str:
        """``matview`` for materialized views, else ``view``."""
        return "matview" if self.is_materialized else "view"

    @classmethod
    def from_api(cls, data: Any, *, keep_raw: bool = True) -> Self:
        """``keep_raw=False``: the record is read but not kept (``raw`` empty, its columns' too), for
        a caller that needs the fields alone: a crawl of 20,000 views keeps 40 MB less."""
        d = _mapping(data, "a saved query")
        folder_id = _str(d.get("folder_id"))
        folder_name = _str(d.get("folder_name"))
        folder = d.get("folder")
        if isinstance(folder, Mapping):
            folder_id = folder_id or _str(folder.get("id"))
            folder_name = folder_name or _str(folder.get("name"))
        elif isinstance(folder, str) and folder_name is None:
            folder_name = folder
        return cls(
            id=_required_id(d, "a saved query"),
            name=_str(d.get("name")) or "",
            sql=_sql(d.get("query")),
            status=_str(d.get("status")),
            sync_frequency=_str(d.get("sync_frequency")),
            is_materialized=bool(_bool(d.get("is_materialized"))),
            last_run_at=parse_datetime(d.get("last_run_at")),
            latest_error=_str(d.get("latest_error")),
            created_at=parse_datetime(d.get("created_at")),
            created_by=UserBasic.from_api(d.get("created_by")),
            folder_id=folder_id,
            folder_name=folder_name,
            description=_str(d.get("description")),
            origin=_str(d.get("origin")),
            deleted=bool(_bool(d.get("deleted"))),
            managed_viewset_kind=_str(d.get("managed_viewset_kind")),
            latest_history_id=_str(d.get("latest_history_id")),
            columns=_columns(d.get("columns"), keep_raw=keep_raw),
            updated_at=parse_datetime(d.get("updated_at")),
            is_incremental=bool(_bool(d.get("is_incremental"))),
            incremental=_opt_mapping(d.get("incremental")),
            suspended=bool(_bool(d.get("suspended"))),
            is_test=bool(_bool(d.get("is_test"))),
            expires_at=parse_datetime(d.get("expires_at")),
            sync_frequency_bounds=_opt_mapping(d.get("sync_frequency_bounds")),
            raw=dict(d) if keep_raw else _NO_RAW,
        )


@dataclass(frozen=True)
class Folder:
    """A saved-query folder."""

    id: str
    name: str
    created_at: datetime | None = None
    created_by: UserBasic | None = None
    view_count: int | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "a folder")
        return cls(
            id=_required_id(d, "a folder"),
            name=_str(d.get("name")) or "",
            created_at=parse_datetime(d.get("created_at")),
            created_by=UserBasic.from_api(d.get("created_by")),
            view_count=_int(d.get("view_count")),
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class Job:
    """A data-modeling job (one run or materialization of a view)."""

    id: str
    saved_query_id: str | None = None
    status: str | None = None
    rows_materialized: int | None = None
    rows_expected: int | None = None
    error: str | None = None
    created_at: datetime | None = None
    last_run_at: datetime | None = None
    workflow_id: str | None = None
    workflow_run_id: str | None = None
    # Newest PostHog: ``full_refresh`` | ``incremental`` | None, why a full refresh was done, and
    # (for a finished job) when it reached its final status.
    run_mode: str | None = None
    full_refresh_reason: str | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = _raw()

    @property
    def finished_at(self) -> datetime | None:
        """When a finished job reached its final status: ``updated_at`` (newest PostHog), else
        ``last_run_at``; None while it runs."""
        if self.status == "Running":
            return None
        return self.updated_at or self.last_run_at

    @property
    def duration_s(self) -> float | None:
        """Seconds from start (``created_at``) to :attr:`finished_at`, when both are known and ordered."""
        end = self.finished_at or self.last_run_at
        if self.created_at is None or end is None or end < self.created_at:
            return None
        return (end - self.created_at).total_seconds()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "a data modeling job")
        return cls(
            id=_required_id(d, "a data modeling job"),
            # system.data_modeling_jobs names the view data_modeling_view_id (PostHog's system schema maps it
            # to the model's saved_query_id: StringDatabaseField(name="saved_query_id"))
            saved_query_id=_str(d.get("saved_query_id")) or _str(d.get("data_modeling_view_id")),
            status=_str(d.get("status")),
            rows_materialized=_int(d.get("rows_materialized")),
            rows_expected=_int(d.get("rows_expected")),
            error=_str(d.get("error")),
            created_at=parse_datetime(d.get("created_at")),
            last_run_at=parse_datetime(d.get("last_run_at")),
            workflow_id=_str(d.get("workflow_id")),
            workflow_run_id=_str(d.get("workflow_run_id")),
            run_mode=_str(d.get("run_mode")),
            full_refresh_reason=_str(d.get("full_refresh_reason")),
            updated_at=parse_datetime(d.get("updated_at")),
            raw=dict(d),
        )


@dataclass(frozen=True)
class ActivityRow:
    """One row of ``data_warehouse/completed_activity`` (an import sync or a materialization)."""

    id: str
    type: str | None = None
    name: str | None = None
    status: str | None = None
    rows: int | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    latest_error: str | None = None
    workflow_run_id: str | None = None
    origin: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "a completed activity row")
        return cls(
            id=_required_id(d, "a completed activity row"),
            type=_str(d.get("type")),
            name=_str(d.get("name")),
            status=_str(d.get("status")),
            rows=_int(d.get("rows")),
            created_at=parse_datetime(d.get("created_at")),
            finished_at=parse_datetime(d.get("finished_at")),
            latest_error=_str(d.get("latest_error")),
            workflow_run_id=_str(d.get("workflow_run_id")),
            origin=_str(d.get("origin")),
            raw=dict(d),
        )


@dataclass(frozen=True)
class Table:
    """A data-warehouse table (the names behind table UUIDs that lineage returns)."""

    id: str
    name: str
    format: str | None = None
    created_at: datetime | None = None
    created_by: UserBasic | None = None
    url_pattern: str | None = None
    source_type: str | None = None
    external_data_source: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    deleted: bool = False
    columns: tuple[Column, ...] = ()
    # The name SQL uses (``hubspot.contacts`` for the storage name ``hubspot_contacts``): the newest
    # PostHog sends it; else it is derived from the source's type and prefix; else the name.
    hogql_name: str | None = None
    raw: Mapping[str, Any] = _raw()

    @property
    def sql_name(self) -> str:
        """What a view's SQL calls this table."""
        return self.hogql_name or self.name

    @classmethod
    def from_api(cls, data: Any) -> Self:
        from lineage.posthog import hogql_table_name

        d = _mapping(data, "a warehouse table")
        source = d.get("external_data_source")
        source = dict(source) if isinstance(source, Mapping) else None
        name = _str(d.get("name")) or ""
        hogql = _str(d.get("hogql_name"))
        if hogql is None and source is not None and _str(source.get("source_type")):
            hogql = hogql_table_name(name, _str(source.get("source_type")), _str(source.get("prefix")))
        return cls(
            id=_required_id(d, "a warehouse table"),
            name=_str(d.get("name")) or "",
            format=_str(d.get("format")),
            created_at=parse_datetime(d.get("created_at")),
            created_by=UserBasic.from_api(d.get("created_by")),
            url_pattern=_str(d.get("url_pattern")),
            source_type=_str(source.get("source_type")) if source else None,
            external_data_source=source,
            deleted=bool(_bool(d.get("deleted"))),
            columns=_columns(d.get("columns")),
            hogql_name=hogql if hogql and hogql != name else None,
            raw=dict(d),
        )


@dataclass(frozen=True)
class Dependencies:
    """``dependencies``: how many distinct direct parents and children the view has."""

    upstream_count: int
    downstream_count: int
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "dependencies")
        up, down = _int(d.get("upstream_count")), _int(d.get("downstream_count"))
        if up is None or down is None:
            raise ProtocolError(
                "dependencies answer lacks integer upstream_count/downstream_count; "
                "the API answered in an undocumented shape",
                body=None,
            )
        return cls(upstream_count=up, downstream_count=down, raw=dict(d))


@dataclass(frozen=True)
class RunHistoryEntry:
    """One of the (at most five) newest runs of a view."""

    status: str | None
    timestamp: datetime | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "a run history entry")
        return cls(status=_str(d.get("status")), timestamp=parse_datetime(d.get("timestamp")), raw=dict(d))


@dataclass(frozen=True)
class DatabaseNameCheck:
    """Answer of ``data_warehouse/check-database-name``."""

    name: str
    available: bool | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any, *, asked: str) -> Self:
        d = _mapping(data, "a database name check")
        return cls(name=_str(d.get("name")) or asked, available=_bool(d.get("available")), raw=dict(d))


@dataclass(frozen=True)
class ViewChange:
    """One change of a saved query's activity-log entry (``detail.changes[]``)."""

    attribute: str | None
    action: str | None
    before: Any = field(default=None, compare=False, hash=False)
    after: Any = field(default=None, compare=False, hash=False)

    @property
    def sql_before(self) -> str | None:
        """The SQL before a ``query`` change (None for other fields or a creation)."""
        return _sql(self.before) if self.attribute == "query" else None

    @property
    def sql_after(self) -> str | None:
        return _sql(self.after) if self.attribute == "query" else None


@dataclass(frozen=True)
class ViewActivity:
    """One entry of ``GET .../warehouse_saved_queries/:id/activity/`` (PostHog's ActivityLog rows:
    ``id`` a UUID, ``user``, ``activity`` ``created``/``updated``, ``detail.changes``, ``created_at``)."""

    id: str
    activity: str | None = None
    user: UserBasic | None = None
    created_at: datetime | None = None
    name: str | None = None
    changes: tuple[ViewChange, ...] = ()
    is_system: bool = False
    raw: Mapping[str, Any] = _raw()

    @property
    def changes_sql(self) -> bool:
        """Whether this entry changed (or created) the view's SQL."""
        return any(c.attribute == "query" for c in self.changes)

    @property
    def who(self) -> str:
        """The editor's display name, ``PostHog`` for a system change, else an empty string."""
        if self.user is not None:
            return self.user.display_name
        return "PostHog" if self.is_system else ""

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "an activity log entry")
        found = d.get("detail")
        detail: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        listed = detail.get("changes")
        raw_changes: list[Any] = listed if isinstance(listed, list) else []
        changes = tuple(
            ViewChange(
                attribute=_str(c.get("field")),
                action=_str(c.get("action")),
                before=c.get("before"),
                after=c.get("after"),
            )
            for c in raw_changes
            if isinstance(c, Mapping)
        )
        return cls(
            id=_required_id(d, "an activity log entry"),
            activity=_str(d.get("activity")),
            user=UserBasic.from_api(d.get("user")),
            created_at=parse_datetime(d.get("created_at")),
            name=_str(detail.get("name")),
            changes=changes,
            is_system=bool(_bool(d.get("is_system"))),
            raw=dict(d),
        )


@dataclass(frozen=True)
class HealthIssue:
    """One row of ``data_warehouse/data_health_issues`` (a failing materialization or sync).

    PostHog's generated client types this answer as ``unknown``: the parser keeps what it finds
    (``id``, ``name``, ``type``, ``status``, ``error``) and the whole row in ``raw``.
    """

    id: str
    name: str | None = None
    type: str | None = None
    status: str | None = None
    error: str | None = None
    failed_at: datetime | None = None
    raw: Mapping[str, Any] = _raw()

    @property
    def is_materialization(self) -> bool:
        kind = (self.type or "").lower()
        return "view" in kind or "materializ" in kind or "model" in kind

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "a data health issue")
        return cls(
            id=_required_id(d, "a data health issue"),
            name=_str(d.get("name")),
            type=_str(d.get("type")),
            status=_str(d.get("status")),
            error=_str(d.get("error")) or _str(d.get("latest_error")),
            failed_at=parse_datetime(d.get("failed_at") or d.get("created_at")),
            raw=dict(d),
        )
