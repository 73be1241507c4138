"""Settings from flags and environment variables (``interfaces.md`` section 1), and key redaction.

>>> s = Settings.resolve(host="http://127.0.0.1:8000", project="1", api_key="phx_secret")
>>> "phx_secret" in repr(s)
False
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lineage.errors import ConfigError

DEFAULT_HOST = "https://us.posthog.com"
DEFAULT_MAX_RPM = 480

ENV_HOST = "POSTHOG_HOST"
ENV_PROJECT = "POSTHOG_PROJECT_ID"
ENV_KEY = "POSTHOG_PERSONAL_API_KEY"
ENV_MAX_RPM = "LINEAGE_MAX_RPM"

_KEY_PATTERN = re.compile(r"phx_[A-Za-z0-9_\-]+")
_known_secrets: set[str] = set()
# What an HTTP header can carry verbatim: printable ASCII without spaces or quotes.
_KEY_CHARS = re.compile(r"[!#-&(-~]+")


def register_secret(secret: str) -> None:
    """Remember a secret so that :func:`redact` removes it from any text, whatever its shape."""
    if secret and len(secret) >= 4:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    """Remove every known secret and anything shaped like a personal API key from ``text``."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("phx_[redacted]", text)


class Secret:
    """A string that never shows itself in ``str``, ``repr``, f-strings or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('[redacted]')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is never pickled")


def is_loopback(host: str) -> bool:
    """Whether the URL ``host`` names this machine: localhost or a loopback IP (not a name like 127.x.com)."""
    try:
        name = (urlsplit(host).hostname or "").lower()
    except ValueError:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Where and how to talk to PostHog. Build with :meth:`resolve`."""

    host: str = DEFAULT_HOST
    project: str | None = None
    api_key: Secret | None = field(default=None, repr=False)
    max_rpm: int = DEFAULT_MAX_RPM

    @property
    def max_rph(self) -> int:
        """The hourly cap is ten times the per-minute one, as PostHog's 480/min and 4800/h."""
        return self.max_rpm * 10

    @classmethod
    def resolve(
        cls,
        *,
        host: str | None = None,
        project: str | int | None = None,
        api_key: str | None = None,
        max_rpm: int | str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Settings:
        """Flags first, then environment variables, then defaults; validates each value."""
        env = os.environ if env is None else env
        raw_host = host or env.get(ENV_HOST) or DEFAULT_HOST
        raw_host = raw_host.strip().rstrip("/")
        if "://" not in raw_host:
            raw_host = "https://" + raw_host
        try:
            parts = urlsplit(raw_host)
            # .port raises ValueError for a port that is not a number in 0-65535
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if parts is None or not port_ok or parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(
                f"--host / {ENV_HOST} must be a URL such as https://us.posthog.com "
                f"(a port, if any, from 1 to 65535), got {raw_host!r}"
            )
        raw_project = project if project is not None else env.get(ENV_PROJECT)
        proj = str(raw_project).strip() if raw_project not in (None, "") else None
        if proj is not None and not (proj.isdigit() or proj == "@current"):
            raise ConfigError(
                f"--project / {ENV_PROJECT} must be a numeric project id (or @current), got {proj!r}"
            )
        key = api_key if api_key is not None else env.get(ENV_KEY)
        secret = Secret(key.strip()) if key and key.strip() else None
        if secret is not None and not _KEY_CHARS.fullmatch(secret.reveal()):
            # Never quote the key: a pasted key with a stray newline or quote is still mostly secret.
            raise ConfigError(
                f"--api-key / {ENV_KEY} holds spaces, quotes, control or non-ASCII characters, so it cannot "
                "be a personal API key; copy the key again (it starts phx_)"
            )
        raw_rpm = max_rpm if max_rpm is not None else env.get(ENV_MAX_RPM)
        rpm = DEFAULT_MAX_RPM
        if raw_rpm not in (None, ""):
            try:
                rpm = int(str(raw_rpm))
            except ValueError:
                rpm = -1
            if rpm < 1:
                raise ConfigError(
                    f"--max-rpm / {ENV_MAX_RPM} must be a whole number of requests >= 1, got {raw_rpm!r}"
                )
        return cls(host=raw_host, project=proj, api_key=secret, max_rpm=rpm)

    def require_api(self) -> Settings:
        """Raise a one-line ConfigError naming the flag and variable of whatever is missing."""
        if self.project is None:
            raise ConfigError(f"no project: pass --project or set {ENV_PROJECT}")
        if self.api_key is None:
            raise ConfigError(f"no personal API key: pass --api-key or set {ENV_KEY}")
        if self.host.startswith("http://") and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to send the API key over plain http to {self.host}: use https "
                f"(--host / {ENV_HOST}); plain http is allowed only for loopback"
            )
        return self
