"""Settings from parameters (the command line's flags) and environment variables, and key redaction.

>>> s = Settings.resolve(host="http://127.0.0.1:8000", project="1", api_key="phx_secret")
>>> "phx_secret" in repr(s)
False
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lineage.errors import ConfigError, param

DEFAULT_HOST = "https://us.posthog.com"
DEFAULT_MAX_RPM = 480

ENV_HOST = "POSTHOG_HOST"
ENV_PROJECT = "POSTHOG_PROJECT_ID"
ENV_KEY = "POSTHOG_PERSONAL_API_KEY"
ENV_MAX_RPM = "LINEAGE_MAX_RPM"
ENV_THROTTLE_BUDGET = "LINEAGE_THROTTLE_BUDGET"
ENV_REQUEST_DEADLINE = "LINEAGE_REQUEST_DEADLINE"
ENV_MAX_RESPONSE_MB = "LINEAGE_MAX_RESPONSE_MB"

#: Seconds a whole session may spend waiting out PostHog's 429s (its window is shared with the
#: user's other tools, and one ``Retry-After`` can be a minute or more).
DEFAULT_THROTTLE_BUDGET = 900.0
#: Seconds one request may take in all (connect, headers, body): the httpx timeout is per read.
DEFAULT_REQUEST_DEADLINE = 120.0
#: Megabytes one answer may decode to; a gzip bomb stops here instead of filling memory.
DEFAULT_MAX_RESPONSE_MB = 256
# A key fragment this long or longer in any text is redacted (a server may echo the key without
# its phx_ prefix, or cut it anywhere).
FRAGMENT = 8

_KEY_PATTERN = re.compile(r"phx_[A-Za-z0-9_\-]+")
_known_secrets: set[str] = set()
# What an HTTP header can carry verbatim: printable ASCII without spaces or quotes.
_KEY_CHARS = re.compile(r"[!#-&(-~]+")


def register_secret(secret: str) -> None:
    """Remember a secret so that :func:`redact` removes it from any text, whatever its shape."""
    if secret and len(secret) >= 4:
        _known_secrets.add(secret)


def redact(text: str) -> str:
    """Remove every known secret, any run of 8+ characters taken from one, and anything shaped like
    a personal API key from ``text``.

    >>> register_secret("phx_0123456789abcdefXYZ")
    >>> redact("key 0123456789abcdefXYZ and 89abcdef and 0123456 stay apart")
    'key [redacted] and [redacted] and 0123456 stay apart'
    """
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
        if len(secret) >= FRAGMENT:
            text = _redact_fragments(text, secret)
    return _KEY_PATTERN.sub("phx_[redacted]", text)


@functools.lru_cache(maxsize=16)
def _grams(secret: str) -> frozenset[str]:
    return frozenset(secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1))


def _redact_fragments(text: str, secret: str) -> str:
    """Every span of ``text`` covered by 8-character pieces of ``secret`` becomes ``[redacted]``.

    A substring of the secret of 8+ characters is a chain of overlapping 8-character pieces, so
    marking where each piece occurs covers it whole. Each piece is looked for with ``str.find``
    (C speed), so a megabyte of server text costs milliseconds, not a Python loop per character.
    """
    if len(text) < FRAGMENT:
        return text
    hits: list[int] = []
    for gram in _grams(secret):
        at = text.find(gram)
        while at != -1:
            hits.append(at)
            at = text.find(gram, at + 1)
    if not hits:
        return text
    hits.sort()
    spans: list[list[int]] = []
    for at in hits:
        if spans and at <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], at + FRAGMENT)
        else:
            spans.append([at, at + FRAGMENT])
    out: list[str] = []
    last = 0
    for first, stop in spans:
        out.append(text[last:first])
        out.append("[redacted]")
        last = stop
    out.append(text[last:])
    return "".join(out)


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
    throttle_budget: float = DEFAULT_THROTTLE_BUDGET
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    max_response_mb: float = DEFAULT_MAX_RESPONSE_MB

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
        throttle_budget: float | str | None = None,
        request_deadline: float | str | None = None,
        max_response_mb: float | str | None = None,
    ) -> Settings:
        """Parameters (flags) first, then environment variables, then defaults; validates each value."""
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
                f"{param('host')} / {ENV_HOST} must be a URL such as https://us.posthog.com "
                f"(a port, if any, from 1 to 65535), got {raw_host!r}"
            )
        raw_project = project if project is not None else env.get(ENV_PROJECT)
        proj = str(raw_project).strip() if raw_project not in (None, "") else None
        if proj is not None and not (proj.isdigit() or proj == "@current"):
            raise ConfigError(
                f"{param('project')} / {ENV_PROJECT} must be a numeric project id (or @current), got {proj!r}"
            )
        key = api_key if api_key is not None else env.get(ENV_KEY)
        secret = Secret(key.strip()) if key and key.strip() else None
        if secret is not None and not _KEY_CHARS.fullmatch(secret.reveal()):
            # Never quote the key: a pasted key with a stray newline or quote is still mostly secret.
            raise ConfigError(
                f"{param('api_key')} / {ENV_KEY} holds spaces, quotes, control or non-ASCII characters, so "
                "it cannot be a personal API key; copy the key again (it starts phx_)"
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
                    f"{param('max_rpm')} / {ENV_MAX_RPM} must be a whole number of requests >= 1, got "
                    f"{raw_rpm!r}"
                )
        return cls(
            host=raw_host,
            project=proj,
            api_key=secret,
            max_rpm=rpm,
            throttle_budget=_positive(
                throttle_budget, env, ENV_THROTTLE_BUDGET, "throttle_budget", DEFAULT_THROTTLE_BUDGET, 0.0
            ),
            request_deadline=_positive(
                request_deadline, env, ENV_REQUEST_DEADLINE, "request_deadline", DEFAULT_REQUEST_DEADLINE
            ),
            max_response_mb=_positive(
                max_response_mb, env, ENV_MAX_RESPONSE_MB, "max_response_mb", DEFAULT_MAX_RESPONSE_MB
            ),
        )

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 1024 * 1024)

    def require_api(self) -> Settings:
        """Raise a one-line ConfigError naming the parameter and variable of whatever is missing."""
        if self.project is None:
            raise ConfigError(f"no project: pass {param('project')} or set {ENV_PROJECT}")
        if self.api_key is None:
            raise ConfigError(f"no personal API key: pass {param('api_key')} or set {ENV_KEY}")
        if self.host.startswith("http://") and not is_loopback(self.host):
            raise ConfigError(
                f"refusing to send the API key over plain http to {self.host}: use https "
                f"({param('host')} / {ENV_HOST}); plain http is allowed only for loopback"
            )
        return self


def _positive(
    value: float | str | None,
    env: Mapping[str, str],
    name: str,
    parameter: str,
    default: float,
    minimum: float = 1e-3,
) -> float:
    """A number of seconds or megabytes from ``parameter``, else its variable ``name``, else the default."""
    raw = value if value is not None else env.get(name)
    if raw is None or raw == "":
        return float(default)
    try:
        number = float(str(raw).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < minimum:
        raise ConfigError(
            f"{param(parameter)} / {name} must be a number{' > 0' if minimum > 0 else ' >= 0'}, got "
            f"{str(raw)[:40]!r}"
        )
    return number
