"""One error tree for everything lineage raises on purpose.

    LineageError                      exit 2 unless a subclass says otherwise
    ├── ConfigError                   a missing or bad setting (names the parameter and the variable)
    ├── InputError                    bad user input: a file, a selector, a view name
    │   ├── SnapshotError             a snapshot that is unreadable, of another format, or newer
    │   ├── FixtureError              a simulator fixture that is invalid (names the views)
    │   ├── SelectorError             a selector that does not parse or names nothing
    │   └── HogQLError                HogQL that cannot be parsed (position and reason)
    ├── RenderError                   Graphviz missing or failing, graph too large to draw
    ├── FindingsError                 exit 1: findings the user asked to fail on (check --fail-on)
    └── ApiError                      exit 3: PostHog (or the simulator) said no, or was unreachable
        ├── AuthenticationError       401: bad or missing POSTHOG_PERSONAL_API_KEY
        ├── PermissionDeniedError     403
        │   ├── MissingScopeError     the key lacks a scope (``.scope`` names it)
        │   ├── PersonalKeyNotSupportedError  the endpoint refuses personal API keys: fall back
        │   └── ProjectAccessError    the key is scoped to other projects
        ├── NotFoundError             404 (``.what`` names the id or path)
        ├── BadRequestError           400 (validation and ad-hoc ``{"error": ...}`` bodies)
        │   └── TableAccessError      the query API refused a table (``.table`` names it)
        ├── PaymentRequiredError      402: over quota or a plan feature
        ├── RateLimitedError          429 that outlasted the retry budget
        ├── ServerError               5xx that outlasted retries (or was not retryable)
        ├── TransportError            timeouts, refused or dropped connections
        └── ProtocolError             a body that is not what the API documents
            └── PaginationLoopError   a ``next`` link that repeats or makes no progress

Every message says what happened and what to do. No message, repr or log line ever holds the API
key: :func:`lineage.config.redact` is applied to texts that may echo a request.

A message that names a setting the caller gave names it through :func:`param`: read in Python it says
the parameter (``host=``, ``max_depth=0``), as a notebook user passes it; on the command line the same
message says the flag (``--host``, ``--max-depth 0``). The command line chooses that with
:func:`naming_flags` around each command, with its own table of parameter -> flag; the library never
names a flag. The choice is made when the text is read (``str(exc)``), so a message that embeds another
(a crawl note quoting a refused request) says flags too when the crawl runs under the command line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# A parameter in a message: private-use characters that no message, name or value holds.
_OPEN, _VALUE, _CLOSE = "\ue000", "\ue001", "\ue002"
_PARAM = re.compile("\ue000([A-Za-z_][A-Za-z0-9_]*)(?:\ue001([^\ue000\ue002]*))?\ue002")

#: How a parameter's name reads in the current context: ``None`` in Python, the CLI's flag table there.
_flag_for: ContextVar[Callable[[str], str] | None] = ContextVar("lineage_flag_for", default=None)


def param(name: str, value: str | None = None) -> str:
    """The parameter ``name`` (with the text of its ``value``, if given) as a message names it.

    Read in Python: ``name=`` or ``name=value``; under :func:`naming_flags` (the command line):
    the flag, ``--name`` or ``--name value``.
    """
    if value is None:
        return f"{_OPEN}{name}{_CLOSE}"
    return f"{_OPEN}{name}{_VALUE}{value}{_CLOSE}"


def render_params(text: str) -> str:
    """``text`` with each :func:`param` spelled as the current context names parameters."""
    if _OPEN not in text:
        return text
    flag_for = _flag_for.get()

    def spell(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if flag_for is None:
            return f"{name}=" if value is None else f"{name}={value}"
        flag = flag_for(name)
        return flag if value is None else f"{flag} {value}"

    return _PARAM.sub(spell, text)


@contextmanager
def naming_flags(flag_for: Callable[[str], str]) -> Iterator[None]:
    """Within this block, messages name each parameter by ``flag_for(name)`` (the command line's flags)."""
    token = _flag_for.set(flag_for)
    try:
        yield
    finally:
        _flag_for.reset(token)


class LineageError(Exception):
    """Base of every error lineage raises on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.template = message  # as raised, with its parameters as :func:`param` marks
        self.context = context

    @property
    def message(self) -> str:
        """The message, naming parameters as the current context does (see :func:`param`)."""
        return render_params(self.template)

    def __str__(self) -> str:
        return render_params(self.template)


class ConfigError(LineageError):
    """A required setting is missing or malformed."""


class InputError(LineageError):
    """Input given by the user (a path, a selector, a name) cannot be used."""


class SnapshotError(InputError):
    """A snapshot file is unreadable, malformed, or of another/newer format."""


class FixtureError(InputError):
    """A simulator fixture is invalid: cycle, duplicate name, dangling parent, bad field."""


class SelectorError(InputError):
    """A selector does not parse or names nothing."""


class HogQLError(InputError):
    """HogQL text that cannot be parsed."""


class RenderError(LineageError):
    """A diagram cannot be produced (Graphviz missing or failing, graph over the node limit)."""


class FindingsError(LineageError):
    """Findings the user asked to fail on; the CLI exits 1."""

    exit_code = 1


class ApiError(LineageError):
    """PostHog answered with an error, or could not be reached. The CLI exits 3."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.status = status
        self.method = method
        self.path = path
        self.body = body


class AuthenticationError(ApiError):
    """401: the personal API key is missing or invalid."""


class PermissionDeniedError(ApiError):
    """403: the key may not do this."""


class MissingScopeError(PermissionDeniedError):
    """403: the key lacks a scope; ``scope`` names it (e.g. ``warehouse_view:read``)."""

    def __init__(self, message: str, *, scope: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.scope = scope


class PersonalKeyNotSupportedError(PermissionDeniedError):
    """403: this endpoint does not accept personal API keys; callers should fall back."""


class ProjectAccessError(PermissionDeniedError):
    """403: the key is limited to other projects."""


class NotFoundError(ApiError):
    """404: the object does not exist, was deleted, or belongs to another project; ``what`` names it."""

    def __init__(self, message: str, *, what: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.what = what


class BadRequestError(ApiError):
    """400: the request was refused as invalid; ``attr`` names the field when PostHog says."""

    def __init__(self, message: str, *, attr: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.attr = attr


class TableAccessError(BadRequestError):
    """400 from the query API: the key's owner may not read a table; ``table`` names it."""

    def __init__(self, message: str, *, table: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.table = table


class PaymentRequiredError(ApiError):
    """402: a quota or plan limit."""


class RateLimitedError(ApiError):
    """429 that did not clear within the retry budget."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx that did not clear within the retry budget (or was not safe to retry)."""


class TransportError(ApiError):
    """Timeouts, refused or dropped connections."""


class ProtocolError(ApiError):
    """A response body that does not match what the API documents (truncated JSON, wrong shape)."""


class PaginationLoopError(ProtocolError):
    """A pagination link that repeats, or a page that makes no progress."""
