"""Facts about PostHog that several layers need (the simulator, the client, the crawler, analysis).

Kept in one place so that the simulator and the code that reads the real API cannot drift apart.
"""

from __future__ import annotations

from typing import Final

#: ``sync_frequency`` values PostHog reports (posthog-api.md section 8), with their length in seconds;
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
