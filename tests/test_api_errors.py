"""Errors: both PostHog body shapes, retries that are (and are not) safe, redaction, hostile bodies."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.api import AsyncPostHogClient, PostHogClient
from lineage.cli.common import flag_for
from lineage.config import Settings
from lineage.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    LineageError,
    MissingScopeError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    PersonalKeyNotSupportedError,
    ProjectAccessError,
    ProtocolError,
    ServerError,
    TransportError,
    naming_flags,
)

KEY = "phx_errorskey_SECRET_123"
VIEW = "0f0f0f0f-0000-0000-0000-000000000001"


def make_settings() -> Settings:
    return Settings.resolve(host="https://posthog.test", project="3", api_key=KEY, env={})


def client_for(handler: Callable[[httpx.Request], Any], **kw: Any) -> PostHogClient:
    kw.setdefault("sleep", lambda s: None)
    return PostHogClient(make_settings(), transport=httpx.MockTransport(handler), **kw)


def hog(status: int, type_: str, code: str, detail: str, attr: str | None = None) -> httpx.Response:
    return httpx.Response(status, json={"type": type_, "code": code, "detail": detail, "attr": attr})


def fail_with(response: httpx.Response, call: Callable[[PostHogClient], Any]) -> LineageError:
    with client_for(lambda r: response, retries=0) as c, pytest.raises(LineageError) as info:
        call(c)
    err = info.value
    for text in (str(err), repr(err), json.dumps(getattr(err, "body", None), default=str)):
        assert KEY not in text and "SECRET" not in text
    return err


def test_401_names_the_key_variable() -> None:
    err = fail_with(
        hog(
            401,
            "authentication_error",
            "authentication_failed",
            "Personal API key found in request Authorization header is invalid.",
        ),
        lambda c: c.list_views(),
    )
    assert isinstance(err, AuthenticationError)
    assert "POSTHOG_PERSONAL_API_KEY" in str(err) and "GET /api/projects/3/warehouse_saved_queries/" in str(
        err
    )


def test_403_variants() -> None:
    err = fail_with(
        hog(
            403,
            "authentication_error",
            "permission_denied",
            "API key missing required scope 'warehouse_view:read'",
        ),
        lambda c: c.get_view(VIEW),
    )
    assert isinstance(err, MissingScopeError) and err.scope == "warehouse_view:read"
    assert "warehouse_view:read" in str(err)
    err = fail_with(
        hog(
            403,
            "authentication_error",
            "permission_denied",
            "This action does not support personal API key access",
        ),
        lambda c: c.running_jobs(),
    )
    assert isinstance(err, PersonalKeyNotSupportedError)
    err = fail_with(
        hog(
            403,
            "authentication_error",
            "permission_denied",
            "API key does not have access to the requested project: ID 3.",
        ),
        lambda c: c.list_folders(),
    )
    assert isinstance(err, ProjectAccessError) and "POSTHOG_PROJECT_ID" in str(err)
    err = fail_with(
        httpx.Response(403, json={"error": "This feature is not enabled"}),
        lambda c: c.check_database_name("abc"),
    )
    assert type(err) is PermissionDeniedError and "This feature is not enabled" in str(err)


def test_404_names_the_id() -> None:
    err = fail_with(hog(404, "invalid_request", "not_found", "Not found."), lambda c: c.get_view(VIEW))
    assert isinstance(err, NotFoundError) and VIEW in str(err)
    assert err.what == f"saved query {VIEW}"
    assert str(err).count("/warehouse_saved_queries/") == 1  # the path is said once, not twice
    err = fail_with(hog(404, "invalid_request", "not_found", "Project not found."), lambda c: c.list_views())
    assert isinstance(err, NotFoundError) and "POSTHOG_PROJECT_ID" in str(err)
    assert str(err).count("/warehouse_saved_queries/") == 1
    # the advice is given once (issue 14, item 5), naming the parameter; the command line, the flag
    assert str(err).count("project=") == 1 and str(err).count("POSTHOG_PROJECT_ID") == 1
    with naming_flags(flag_for):
        assert str(err).count("--project") == 1 and "project=" not in str(err)


def test_400_both_shapes_and_attr() -> None:
    err = fail_with(
        hog(
            400, "validation_error", "min_value", "Ensure this value is greater than or equal to 1.", "level"
        ),
        lambda c: c.ancestors(VIEW, level=1),
    )
    assert isinstance(err, BadRequestError) and err.attr == "level" and "'level'" in str(err)
    err = fail_with(
        httpx.Response(400, json={"error": "Cannot cancel a query that is not running"}),
        lambda c: c.cancel(VIEW),
    )
    assert isinstance(err, BadRequestError) and err.attr is None
    assert "Cannot cancel a query that is not running" in str(err)
    assert f"POST /api/projects/3/warehouse_saved_queries/{VIEW}/cancel/" in str(err)


def test_402_and_other_statuses() -> None:
    assert isinstance(
        fail_with(hog(402, "x", "payment_required", "Upgrade"), lambda c: c.list_views()),
        PaymentRequiredError,
    )
    err = fail_with(
        hog(405, "invalid_request", "method_not_allowed", 'Method "PUT" not allowed.'),
        lambda c: c.list_views(),
    )
    assert type(err) is ApiError and "405" in str(err)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(400),
        httpx.Response(400, content=b"<!DOCTYPE html><html>oops</html>"),
        httpx.Response(400, content=b"{truncated"),
        httpx.Response(400, json=[1, 2]),
        httpx.Response(400, json={"error": {"nested": True}}),
        httpx.Response(400, json={"detail": ["a", "b"]}),
    ],
)
def test_odd_error_bodies_still_map(response: httpx.Response) -> None:
    err = fail_with(response, lambda c: c.list_views())
    assert isinstance(err, BadRequestError) and "HTTP 400" in str(err)


def test_key_echoed_by_server_is_redacted_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"Personal API key {KEY} found in request Authorization header is invalid."
    err = fail_with(hog(401, "authentication_error", "authentication_failed", echo), lambda c: c.list_views())
    assert "[redacted]" in str(err)
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadError(f"connection reset while sending {KEY}")
        return httpx.Response(200, json=[])

    with client_for(flaky) as c:
        assert c.list_folders() == []
    assert KEY not in caplog.text


def test_empty_success_bodies_are_accepted() -> None:
    codes = iter([200, 202, 204, 200, 200, 204])
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path.rsplit("/", 2)[-2]))
        return httpx.Response(next(codes))  # no body at all, whatever the status

    with client_for(handler) as c:
        # Each write answers None without raising, and each was sent exactly once (no retry on 2xx).
        assert c.run(VIEW) is None
        assert c.resume_schedules([VIEW]) is None
        assert c.delete_view(VIEW) is None
        assert c.materialize(VIEW) is None
        assert c.cancel(VIEW) is None
        assert c.delete_folder("f1") is None
    assert [method for method, _ in seen] == ["POST", "POST", "DELETE", "POST", "POST", "DELETE"]
    assert [last for _, last in seen] == ["run", "resume_schedules", VIEW, "materialize", "cancel", "f1"]


def test_empty_body_where_data_is_documented_is_a_protocol_error() -> None:
    err = fail_with(httpx.Response(200), lambda c: c.get_view(VIEW))
    assert isinstance(err, ProtocolError) and f"GET /api/projects/3/warehouse_saved_queries/{VIEW}/" in str(
        err
    )


def test_5xx_on_reads_is_retried_but_not_on_actions() -> None:
    calls: list[str] = []
    answers = iter([500, 502, 200])

    def logged(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        calls.append(request.method)
        return response

    def reads(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        status = next(answers)
        return httpx.Response(
            status, json={"upstream_count": 1, "downstream_count": 2} if status == 200 else {}
        )

    with client_for(reads) as c:
        assert c.dependencies(VIEW).downstream_count == 2
        assert c.stats.retries == 2
    assert len(calls) == 3
    for action in ("run", "materialize", "revert_materialization", "cancel"):
        calls.clear()
        with client_for(lambda r: logged(r, httpx.Response(500, json={"error": "Failed"}))) as c:
            with pytest.raises(ServerError, match="not retried"):
                getattr(c, action)(VIEW)
            assert c.stats.retries == 0
        assert calls == ["POST"]
    calls.clear()
    with (
        client_for(lambda r: logged(r, httpx.Response(503)), retries=2) as c,
        pytest.raises(ServerError, match="after 2 retries"),
    ):
        c.list_views()
    assert len(calls) == 3


def test_ancestors_post_is_retried_as_read_only() -> None:
    answers = iter([httpx.Response(500), httpx.Response(200, json={"ancestors": ["b", "a", "a"]})])
    with client_for(lambda r: next(answers)) as c:
        assert c.ancestors(VIEW) == ["a", "b"]


def test_dropped_connections_and_timeouts() -> None:
    failures: list[Exception] = [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("peer closed")]

    def reads(request: httpx.Request) -> httpx.Response:
        if failures:
            raise failures.pop(0)
        return httpx.Response(200, json=[])

    with client_for(reads) as c:
        assert c.recent_jobs() == []
        assert c.stats.retries == 2
    sent: list[str] = []

    def dropped_action(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        raise httpx.ReadError("connection dropped")

    with client_for(dropped_action) as c, pytest.raises(TransportError, match="not retried blindly"):
        c.run(VIEW)
    assert sent == ["POST"]
    refused = [httpx.ConnectError("refused")]

    def refused_once(request: httpx.Request) -> httpx.Response:
        if refused:
            raise refused.pop()
        return httpx.Response(200)

    with client_for(refused_once) as c:
        c.run(VIEW)  # never reached the server: safe to send again

    def always_refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with client_for(always_refused, retries=2) as c, pytest.raises(TransportError, match="POSTHOG_HOST"):
        c.list_views()


def test_truncated_json_is_retried_on_reads_only() -> None:
    answers = iter(
        [
            httpx.Response(200, content=b'{"upstream_count": 1, "downstr'),
            httpx.Response(200, json={"upstream_count": 1, "downstream_count": 0}),
        ]
    )
    with client_for(lambda r: next(answers)) as c:
        assert c.dependencies(VIEW).upstream_count == 1
    with client_for(lambda r: httpx.Response(201, content=b'{"id": "x", "na'), retries=3) as c:
        with pytest.raises(ProtocolError, match="may have been applied"):
            c.create_view("v", "SELECT 1")
        assert c.stats.retries == 0


def test_error_storm_with_latency_loses_no_data() -> None:
    rng = random.Random(7)
    items = [
        {
            "id": f"job{i:03d}",
            "status": "Completed",
            "created_at": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
        }
        for i in range(240)
    ]
    items.reverse()
    failures = {"count": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(rng.random() / 1000)
        roll = rng.random()
        if roll < 0.10:
            failures["count"] += 1
            return httpx.Response(rng.choice([500, 502, 503, 504]))
        if roll < 0.13:
            failures["count"] += 1
            raise httpx.ReadError("dropped")
        if roll < 0.15:
            failures["count"] += 1
            return httpx.Response(200, content=b'{"next": null, "res')
        start = int(request.url.params.get("cursor", "0"))
        nxt = str(request.url.copy_set_param("cursor", start + 25)) if start + 25 < len(items) else None
        return httpx.Response(200, json={"next": nxt, "previous": None, "results": items[start : start + 25]})

    async def main() -> list[str]:
        async with AsyncPostHogClient(
            make_settings(), transport=httpx.MockTransport(handler), retries=8, sleep=lambda s: None
        ) as c:
            jobs = [j.id async for j in c.iter_jobs(page_size=25)]
            assert c.stats.retries == failures["count"]
            return jobs

    assert asyncio.run(main()) == [i["id"] for i in items]
    assert failures["count"] > 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "id",
    "name",
    "query",
    "created_at",
    "results",
    "next",
    "count",
    "ancestors",
    "descendants",
    "run_history",
    "upstream_count",
    "downstream_count",
    "created_by",
    "columns",
    "last_run_at",
]
SHAPED = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6)
CALLS: list[Callable[[PostHogClient], Any]] = [
    lambda c: c.list_views(),
    lambda c: c.get_view(VIEW),
    lambda c: c.ancestors(VIEW, level=2),
    lambda c: c.descendants(VIEW),
    lambda c: c.dependencies(VIEW),
    lambda c: c.run_history(VIEW),
    lambda c: c.list_folders(),
    lambda c: c.list_jobs(),
    lambda c: c.completed_activity(),
    lambda c: c.list_tables(),
    lambda c: c.get_table(VIEW),
    lambda c: c.create_view("v", "SELECT 1"),
    lambda c: c.check_database_name("abc"),
    lambda c: c.run(VIEW),
]


@pytest.fixture(scope="module")
def hostile() -> Any:
    state: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(state["status"], content=state["content"])

    with PostHogClient(
        make_settings(), transport=httpx.MockTransport(handler), retries=1, sleep=lambda s: None
    ) as c:
        yield c, state


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from([200, 201, 204, 400, 401, 403, 404, 429, 500, 503, 302, 418]),
    body=st.one_of(SHAPED.map(json.dumps), JSON.map(json.dumps), st.binary(max_size=40).map(bytes.hex)),
    cut=st.integers(0, 200),
    call=st.sampled_from(CALLS),
)
def test_malformed_and_truncated_bodies_end_in_lineage_errors(
    hostile: Any, status: int, body: str, cut: int, call: Callable[[PostHogClient], Any]
) -> None:
    client, state = hostile
    content = body.encode()
    state["status"], state["content"] = status, content[: min(cut, len(content))] if cut % 3 == 0 else content
    try:
        call(client)
    except LineageError as err:  # anything else propagates and fails the test
        assert KEY not in str(err)


def test_server_text_in_attr_and_code_is_redacted() -> None:
    body = {"type": "validation_error", "code": f"bad_{KEY}", "detail": "no", "attr": f"name {KEY}"}
    err = fail_with(httpx.Response(400, json=body), lambda c: c.list_views())
    assert isinstance(err, BadRequestError) and err.attr is not None and KEY not in err.attr
    assert KEY not in repr(err.context) and "[redacted]" in str(err)


def _raise_read_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("reset")


@pytest.mark.parametrize(
    ("handler", "call"),
    [
        (_raise_read_error, lambda c: c.list_views()),
        (_raise_read_error, lambda c: c.run(VIEW)),
        (lambda r: httpx.Response(200, content=b'{"ancestors": ['), lambda c: c.ancestors(VIEW)),
        (lambda r: httpx.Response(200, content=b'{"id": '), lambda c: c.create_folder("x")),
        (lambda r: httpx.Response(200, json={"ancestors": "no"}), lambda c: c.ancestors(VIEW)),
        (lambda r: httpx.Response(200, json=[1, 2]), lambda c: c.get_view(VIEW)),
        (lambda r: httpx.Response(503, text="<html>down</html>"), lambda c: c.run(VIEW)),
        (lambda r: hog(402, "quota", "quota_limit", "over quota"), lambda c: c.hogql("SELECT 1")),
        (lambda r: httpx.Response(429, headers={"Retry-After": "9999"}), lambda c: c.list_views()),
        (
            lambda r: httpx.Response(307, headers={"location": "https://elsewhere.test/api/"}),
            lambda c: c.list_views(),
        ),
    ],
)
def test_errors_print_alone_without_a_chained_httpx_exception(
    handler: Callable[[httpx.Request], httpx.Response], call: Callable[[PostHogClient], Any]
) -> None:
    with client_for(handler, retries=1, max_wait=5) as c, pytest.raises(ApiError) as info:
        call(c)
    err = info.value
    # a chained httpx error would carry the request, and with it the Authorization header
    assert err.__cause__ is None and err.__context__ is None
    printed = "".join(traceback.format_exception(err))
    assert KEY not in printed and "During handling" not in printed


@pytest.mark.parametrize(
    ("location", "followed"),
    [
        ("/api/projects/3/warehouse_saved_query_folders/", True),
        ("https://posthog.test:443/api/projects/3/warehouse_saved_query_folders/", True),
        ("http://posthog.test/api/projects/3/warehouse_saved_query_folders/", False),  # a downgrade
        ("https://posthog.test:8443/api/projects/3/warehouse_saved_query_folders/", False),
        ("https://eu.posthog.test/api/projects/3/warehouse_saved_query_folders/", False),
        ("//evil.test/api/projects/3/warehouse_saved_query_folders/", False),
    ],
)
def test_redirects_are_followed_only_within_the_configured_origin(location: str, followed: bool) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if len(sent) == 1:
            return httpx.Response(307, headers={"location": location})
        return httpx.Response(200, json=[])

    with client_for(handler, retries=0) as c:
        if followed:
            assert c.list_folders() == []
            assert len(sent) == 2 and sent[1].headers["authorization"] == f"Bearer {KEY}"
        else:
            with pytest.raises(ProtocolError, match="redirected to another host") as info:
                c.list_folders()
            assert len(sent) == 1 and "POSTHOG_HOST" in str(info.value)
