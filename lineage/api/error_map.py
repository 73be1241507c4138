"""From a PostHog answer that is not a success to the :mod:`lineage.errors` exception that says what
went wrong and what to do: 401, 403 (a missing scope, a refused project, an endpoint closed to personal
keys), 404, 400 (a table the key's owner may not read), 402, 5xx and stray redirects.

The server's words (``detail``, ``code``, ``attr``) are redacted and bounded before they reach a
message or an attribute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from lineage.config import ENV_KEY, ENV_PROJECT, redact
from lineage.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    MissingScopeError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    PersonalKeyNotSupportedError,
    ProjectAccessError,
    ProtocolError,
    ServerError,
    TableAccessError,
    param,
)

__all__ = ["api_error", "safe_body", "snippet"]

_TABLE_ACCESS = re.compile(r"access to (?:the )?table\s+[`'\"]?([A-Za-z0-9_$.]+?)[`'\"]?\.?(?:\s|$)", re.I)


def _detail_of(body: Any) -> tuple[str | None, str | None, str | None]:
    """(detail, code, attr) from either error body shape."""
    if not isinstance(body, Mapping):
        return None, None, None
    detail = body.get("detail")
    if detail is None:
        detail = body.get("error")
    if isinstance(detail, Mapping):
        detail = detail.get("detail") or detail.get("message") or json.dumps(detail, default=str)[:500]
    elif isinstance(detail, list):
        detail = "; ".join(str(d) for d in detail[:5])
    code = body.get("code")
    attr = body.get("attr")
    # all three are the server's text and end up in messages and attributes: redacted and bounded
    return (
        redact(str(detail)) if detail is not None else None,
        redact(code)[:100] if isinstance(code, str) else None,
        redact(attr)[:100] if isinstance(attr, str) else None,
    )


def safe_body(body: Any) -> Any:
    """A small, redacted copy of an error body for ``ApiError.body``."""
    if isinstance(body, Mapping):
        return {
            redact(str(k))[:100]: (
                redact(v)[:1000] if isinstance(v, str) else v if isinstance(v, int | float | bool) else None
            )
            for k, v in list(body.items())[:20]
        }
    return None


def snippet(content: bytes) -> str:
    text = content[:400].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    if text.lower().startswith(("<!doctype", "<html")):
        return "an HTML page (a proxy or login page?)"
    return repr(text[:200])


def api_error(
    response: httpx.Response,
    parsed: Any,
    display: str,
    method: str,
    *,
    project: str,
    what: str | None,
    attempts: int,
    read_only: bool,
) -> ApiError:
    """The :class:`ApiError` subclass, with its advice, for an answer that is not a success.

    ``parsed`` is the answer's body as JSON (``None`` when it is empty or not JSON); ``attempts`` the
    retries already spent and ``read_only`` whether the call changes nothing (it shapes the advice).
    """
    status = response.status_code
    content = response.content
    detail, code, attr = _detail_of(parsed)
    if detail is None:
        detail = "empty body" if not content.strip() else snippet(content)
    detail = redact(detail)[:500]
    ctx: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": display,
        "body": safe_body(parsed),
    }
    said = f"HTTP {status}: {detail}"
    if status == 401:
        return AuthenticationError(
            f"{display}: PostHog rejected the personal API key ({said}); check {param('api_key')} / "
            f"{ENV_KEY} (a personal API key starting phx_, created under Settings > Personal API keys)",
            **ctx,
        )
    if status == 403:
        low = detail.lower()
        if "missing required scope" in low:
            scope = None
            start = detail.find("'")
            end = detail.find("'", start + 1)
            if 0 <= start < end:
                scope = detail[start + 1 : end]
            return MissingScopeError(
                f"{display}: the personal API key lacks the scope {scope or '?'!s} ({said}); add it "
                f"to the key in PostHog (Settings > Personal API keys) or use another key in {ENV_KEY}",
                scope=scope,
                **ctx,
            )
        if "does not support personal api key" in low:
            return PersonalKeyNotSupportedError(
                f"{display}: this endpoint does not accept personal API keys ({said}); use the listing "
                "and per-view endpoints instead",
                **ctx,
            )
        if "does not have access to the requested project" in low:
            return ProjectAccessError(
                f"{display}: the personal API key may not access project {project} ({said}); "
                f"check {param('project')} / {ENV_PROJECT} or the key's project access",
                **ctx,
            )
        return PermissionDeniedError(
            f"{display}: permission denied ({said}); check the key's scopes and project access", **ctx
        )
    if status == 404:
        extra = ""
        name = what
        hint = (
            "it may have been deleted or belong to another project: check the id"
            if what
            else f"check {param('host')} / POSTHOG_HOST and {param('project')} / POSTHOG_PROJECT_ID"
        )
        if detail.startswith("Project not found"):
            # one piece of advice, said once (issue 14, item 5)
            extra = f" (project {project})"
            hint = f"check {param('project')} / {ENV_PROJECT} (and {param('host')} / POSTHOG_HOST)"
        err = NotFoundError(
            f"{display}: {what + ' ' if what else ''}not found ({said}){extra}; {hint}",
            what=name,
            **ctx,
        )
        return err
    if status == 400:
        denied = _TABLE_ACCESS.search(detail)
        if denied is not None and "have access" in detail.lower():
            table = denied.group(1).rstrip(".")
            return TableAccessError(
                f"{display}: the key's owner may not read table {table} ({said}); table access in "
                "HogQL follows the owner's role in PostHog, not the key's scopes: ask a project admin "
                "for access or leave the table out of the query",
                table=table,
                attr=attr,
                code=code,
                **ctx,
            )
        field = f" on field {attr!r}" if attr else ""
        return BadRequestError(
            f"{display}: PostHog refused the request{field} ({said}); fix the input and try again",
            attr=attr,
            code=code,
            **ctx,
        )
    if status == 402:
        return PaymentRequiredError(
            f"{display}: PostHog requires a plan feature or quota for this ({said}); "
            "check the organization's billing",
            **ctx,
        )
    if status >= 500:
        tried = f" after {attempts} retries" if attempts else ""
        advice = (
            "try again later"
            if read_only
            else "this call changes state and was not retried: check its effect before repeating"
        )
        return ServerError(f"{display}: PostHog failed{tried} ({said}); {advice}", **ctx)
    if 300 <= status < 400:
        return ProtocolError(f"{display}: unexpected redirect ({said}) without a usable Location", **ctx)
    return ApiError(f"{display}: PostHog answered {said}", **ctx)
