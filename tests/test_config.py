from __future__ import annotations

import pytest

from lineage.config import Secret, Settings, redact
from lineage.errors import ConfigError


def test_flags_override_environment() -> None:
    env = {"POSTHOG_HOST": "https://eu.posthog.com", "POSTHOG_PROJECT_ID": "7", "LINEAGE_MAX_RPM": "100"}
    s = Settings.resolve(project="9", env=env)
    assert s.host == "https://eu.posthog.com"
    assert s.project == "9"
    assert s.max_rpm == 100
    assert s.max_rph == 1000


def test_defaults() -> None:
    s = Settings.resolve(env={})
    assert s.host == "https://us.posthog.com"
    assert s.project is None and s.api_key is None and s.max_rpm == 480


def test_key_never_shows() -> None:
    s = Settings.resolve(project="1", api_key="phx_supersecretvalue123", env={})
    assert "supersecret" not in repr(s)
    assert "supersecret" not in str(s.api_key)
    assert "supersecret" not in f"{s.api_key}"
    assert s.api_key is not None and s.api_key.reveal() == "phx_supersecretvalue123"
    assert "supersecret" not in redact("Bearer phx_supersecretvalue123 failed")


def test_redact_registered_secret_of_any_shape() -> None:
    Secret("not-a-phx-shaped-key-42")
    assert redact("key=not-a-phx-shaped-key-42") == "key=[redacted]"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"project": "abc"}, "project= / POSTHOG_PROJECT_ID"),
        ({"max_rpm": "0"}, "max_rpm= / LINEAGE_MAX_RPM"),
        ({"max_rpm": "lots"}, "max_rpm= / LINEAGE_MAX_RPM"),
        ({"host": "ftp://x"}, "host= / POSTHOG_HOST"),
    ],
)
def test_bad_settings_name_flag_and_variable(kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("/", "/")):
        Settings.resolve(env={}, **kwargs)


def test_require_api_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="POSTHOG_PROJECT_ID"):
        Settings.resolve(env={}).require_api()
    with pytest.raises(ConfigError, match="POSTHOG_PERSONAL_API_KEY"):
        Settings.resolve(project="1", env={}).require_api()
    with pytest.raises(ConfigError, match="plain http"):
        Settings.resolve(
            host="http://posthog.example.com", project="1", api_key="phx_x", env={}
        ).require_api()
    Settings.resolve(host="http://127.0.0.1:9", project="1", api_key="phx_x", env={}).require_api()
