"""One error tree for everything lineage raises on purpose.

    LineageError                      exit 2 unless a subclass says otherwise
    ├── ConfigError                   a missing or bad setting (names the flag and the variable)
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
"""

from __future__ import annotations

from typing import Any


class LineageError(Exception):
    """Base of every error lineage raises on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


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
