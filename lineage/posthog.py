"""Facts about PostHog that several layers need (the simulator, the client, the crawler, analysis).

Kept in one place so that the simulator and the code that reads the real API cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Final

#: ``sync_frequency`` values PostHog's API reports for a saved query, with their length in seconds;
#: ``None`` (never the string "never") means unscheduled.
SYNC_FREQUENCY_SECONDS: Final[dict[str, int]] = {
    "1min": 60,
    "5min": 5 * 60,
    "15min": 15 * 60,
    "30min": 30 * 60,
    "1hour": 3600,
    "6hour": 6 * 3600,
    "12hour": 12 * 3600,
    "24hour": 24 * 3600,
    "7day": 7 * 86400,
    "30day": 30 * 86400,
}

#: Values a client may write: the reported ones plus ``"never"`` (pause the schedule).
SYNC_FREQUENCY_WRITE: Final = frozenset({"never", *SYNC_FREQUENCY_SECONDS})

#: Frequencies only a data source syncs at: a saved query asked to run this often is stored as 15min.
SOURCE_ONLY_SYNC_FREQUENCIES: Final = ("1min", "5min")

#: What a person may pick for a materialized view, in PostHog's order.
VIEW_SYNC_FREQUENCIES: Final = tuple(
    f for f in SYNC_FREQUENCY_SECONDS if f not in SOURCE_ONLY_SYNC_FREQUENCIES
)

#: A saved query's (and a sourced table's HogQL) name: letters, digits, ``_``, ``.`` and ``$``, not
#: starting with a digit or ``.``; at most VIEW_NAME_MAX_LENGTH characters.
VIEW_NAME_RE: Final = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$]*$")
VIEW_NAME_MAX_LENGTH: Final = 128

#: Tables PostHog's HogQL database provides itself. Lineage names them by name (not UUID), and a
#: view or warehouse table may not take one of these names.
POSTHOG_TABLES: Final = frozenset(
    {
        "events",
        "persons",
        "person_distinct_ids",
        "person_overrides",
        "groups",
        "sessions",
        "session_replay_events",
        "cohort_people",
        "static_cohort_people",
        "log_entries",
        "app_metrics",
        "console_logs_log_entries",
        "batch_export_log_entries",
        "heatmaps",
        "query_log",
        "exchange_rate",
        "raw_sessions",
        "raw_persons",
        "raw_groups",
        "raw_person_distinct_ids",
        "raw_cohort_people",
    }
)


def cadence_words(sync_frequency: object) -> str:
    """``"24hour"`` -> ``"24 hours"``, ``"1hour"`` -> ``"hour"``, for sentences ("every 24 hours")."""
    text = str(sync_frequency)
    for unit, word in (("min", "minute"), ("hour", "hour"), ("day", "day")):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            n = int(text[: -len(unit)])
            return word if n == 1 else f"{n} {word}s"
    return text


#: The PostHog objects that read warehouse views and tables (insights, dashboards through their tiles,
#: notebooks, endpoints, alerts on insights): a lineage snapshot's consumer node kinds.
CONSUMER_KINDS = ("insight", "dashboard", "notebook", "endpoint", "alert")


def hogql_table_name(name: str, source_type: str | None, prefix: str | None = None) -> str:
    """The name HogQL gives a warehouse table synced from a source (a Stripe, Hubspot... import).

    The storage ``name`` of a sourced table (``hubspot_contacts``, ``myprefix_stripe_charge``) is not
    what SQL uses: the newest PostHog names it by its source type, the source's optional prefix and
    the table's own name, dot-separated and lower-cased (``hubspot.contacts``,
    ``stripe.myprefix.charge``). A table without a source keeps its name. PostHog's own system tables
    expose no such column: ``system.data_warehouse_tables`` carries ``external_data_source_id``,
    which joins to ``system.data_warehouse_sources`` (``source_type``, ``prefix``) — read from
    PostHog's ``posthog/hogql/database/schema/system.py``.

    >>> hogql_table_name("hubspot_contacts", "Hubspot")
    'hubspot.contacts'
    >>> hogql_table_name("myprefix_stripe_charge", "Stripe", "myprefix_")
    'stripe.myprefix.charge'
    >>> hogql_table_name("orders", None)
    'orders'
    """
    if not source_type:
        return name
    source = source_type.strip().lower()
    clean_prefix = (prefix or "").strip().strip("_").lower()
    rest = name.strip().lower()
    # The storage name starts with the prefix and/or the source type, in either order.
    for _ in range(2):
        for head in (clean_prefix, source):
            if head and rest.startswith(head + "_"):
                rest = rest[len(head) + 1 :]
            elif head and rest.startswith(head) and head == clean_prefix:
                rest = rest[len(head) :].lstrip("_")
    return ".".join(p for p in (source, clean_prefix, rest or name.lower()) if p)


def split_hogql_table_name(hogql_name: str) -> tuple[str, str | None]:
    """(source type as PostHog spells it, prefix or None) of a sourced table's ``hogql_name``.

    >>> split_hogql_table_name("stripe.myprefix.charge")
    ('Stripe', 'myprefix_')
    >>> split_hogql_table_name("hubspot.contacts")
    ('Hubspot', None)
    """
    parts = hogql_name.split(".")
    source = parts[0][:1].upper() + parts[0][1:]
    prefix = "_".join(parts[1:-1]) + "_" if len(parts) > 2 else None
    return source, prefix
