"""Authentication and scope rules of PostHog's API, for the simulator.

Personal API keys are looked for in ``Authorization: Bearer <key>`` first, then ``personal_api_key`` in
a JSON body, then in the query string. The simulator also knows a *session*: a cookie
``sessionid=<any fixture key>`` acts as that key's user logged in through the browser, which PostHog
does not scope-check or throttle and which may use INTERNAL endpoints; it exists so that the
endpoints PostHog closes to personal keys (``completed_activity``, ``warehouse_dag`` ...) can be tested.

Nothing here ever puts a key into an error body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Final

from lineage.sim.errors import HogError

INTERNAL: Final = "INTERNAL"
READ_ACTIONS: Final = frozenset({"list", "retrieve"})
WRITE_ACTIONS: Final = frozenset({"create", "update", "partial_update", "destroy"})

_BEARER = re.compile(r"^Bearer\s+(\S.+)$")

# Per-era ``required_scopes`` of custom actions (PostHog's viewset ``@action``s); an action absent
# here has none.
_ACTION_SCOPES: Final[dict[str, dict[str, str]]] = {
    "e1": {},
    "e2": {
        "ancestors": "warehouse_view:read",
        "descendants": "warehouse_view:read",
        "dependencies": "warehouse_view:read",
        "run_history": "warehouse_view:read",
        "run": "warehouse_view:write",
        "materialize": "warehouse_view:write",
        "revert_materialization": "warehouse_view:write",
        "resume_schedules": "warehouse_view:write",
        "cancel": "warehouse_view:write",
        "activity": "activity_log:read",
    },
    "e3": {
        "run_history": "warehouse_view:read",
        "run": "warehouse_view:write",
        "materialize": "warehouse_view:write",
        "revert_materialization": "warehouse_view:write",
        "resume_schedules": "warehouse_view:write",
        "resume": "warehouse_view:write",
        # the saved-query viewset's ``activity`` action: required_scopes=["activity_log:read"]
        "activity": "activity_log:read",
        "check_incremental": "warehouse_view:read",
    },
}

# Scopes fixed per scope object whatever the era: the query API's create only reads
# (``QueryViewSet``: running a query counts as ``query:read``).
_OBJECT_ACTION_SCOPES: Final[dict[str, dict[str, str]]] = {"query": {"create": "query:read"}}

NO_PAK_DETAIL: Final = "This action does not support personal API key access"


@dataclass(frozen=True)
class Credentials:
    """What a request carried: a key and where it was found (``source`` names the place)."""

    key: str
    source: str
    session: bool = False


def has_bearer(headers: Mapping[str, str]) -> bool:
    """Whether ``Authorization`` carries a ``Bearer`` key (then the body is never looked at)."""
    return bool(_BEARER.match(headers.get("authorization", "")))


def find_credentials(headers: Mapping[str, str], body: Any, query: Mapping[str, str]) -> Credentials | None:
    """PostHog's lookup order: Authorization header, JSON body, query string; then a session cookie."""
    header = headers.get("authorization")
    if header:
        match = _BEARER.match(header)
        if match:
            return Credentials(match.group(1).strip(), "Authorization header")
    if isinstance(body, dict) and "personal_api_key" in body:
        value = body["personal_api_key"]
        return Credentials(value if isinstance(value, str) else "", "body")
    if "personal_api_key" in query:
        return Credentials(query["personal_api_key"], "query string")
    cookie_header = headers.get("cookie")
    if cookie_header:
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(cookie_header)
        except CookieError:
            return None
        morsel = cookie.get("sessionid")
        if morsel is not None and morsel.value:
            return Credentials(morsel.value, "session", session=True)
    return None


def invalid_key(source: str) -> HogError:
    return HogError(
        401,
        "authentication_error",
        "authentication_failed",
        f"Personal API key found in request {source} is invalid.",
    )


def not_authenticated() -> HogError:
    return HogError(
        401, "authentication_error", "not_authenticated", "Authentication credentials were not provided."
    )


def permission_denied(detail: str) -> HogError:
    return HogError(403, "authentication_error", "permission_denied", detail)


def required_scope(scope_object: str, action: str, *, era: str) -> str | None:
    """The scope a personal key needs for ``action``, or None when the action refuses personal keys."""
    if scope_object == INTERNAL:
        return None
    fixed = _OBJECT_ACTION_SCOPES.get(scope_object, {})
    if action in fixed:
        return fixed[action]
    table = _ACTION_SCOPES.get(era, _ACTION_SCOPES["e2"])
    if action in table:
        return table[action]
    if action in WRITE_ACTIONS:
        return f"{scope_object}:write"
    if action in READ_ACTIONS:
        return f"{scope_object}:read"
    return None


def has_scope(granted: frozenset[str], scope: str) -> bool:
    """``*`` grants everything (INTERNAL never reaches here); ``x:write`` implies ``x:read``."""
    if "*" in granted or scope in granted:
        return True
    obj, _, level = scope.partition(":")
    return level == "read" and f"{obj}:write" in granted


def check_scope(granted: frozenset[str], scope_object: str, action: str, *, era: str) -> HogError | None:
    """The 403 a personal key gets for ``action``, or None when it may proceed."""
    scope = required_scope(scope_object, action, era=era)
    if scope is None:
        return permission_denied(NO_PAK_DETAIL)
    if not has_scope(granted, scope):
        return permission_denied(f"API key missing required scope '{scope}'")
    return None
