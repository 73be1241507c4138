from __future__ import annotations

import pytest

from lineage.posthog import POSTHOG_TABLES, SYNC_FREQUENCY_SECONDS, SYNC_FREQUENCY_WRITE, cadence_words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1min", "minute"),
        ("15min", "15 minutes"),
        ("1hour", "hour"),
        ("24hour", "24 hours"),
        ("7day", "7 days"),
    ],
)
def test_cadence_words(value: str, words: str) -> None:
    assert cadence_words(value) == words


def test_cadence_words_passes_unknown_values_through() -> None:
    assert cadence_words("fortnightly") == "fortnightly"


def test_facts_agree_with_each_other() -> None:
    assert set(SYNC_FREQUENCY_SECONDS) < SYNC_FREQUENCY_WRITE and "never" in SYNC_FREQUENCY_WRITE
    assert sorted(SYNC_FREQUENCY_SECONDS.values()) == list(SYNC_FREQUENCY_SECONDS.values())
    assert {"events", "persons", "sessions"} <= POSTHOG_TABLES
