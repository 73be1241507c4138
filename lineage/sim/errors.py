"""Errors the simulated PostHog raises, each knowing its HTTP status and its exact body shape.

PostHog answers errors in two shapes: drf-exceptions-hog
``{"type", "code", "detail", "attr"}`` and hand-written ``{"error": "..."}``. The state layer raises
these; the ASGI layer turns them into responses without knowing which shape is which.
"""

from __future__ import annotations

from typing import Any


class SimError(Exception):
    status: int = 500

    def body(self) -> dict[str, Any]:
        raise NotImplementedError


class HogError(SimError):
    """An exceptions-hog error body."""

    def __init__(
        self,
        status: int,
        type_: str,
        code: str,
        detail: str,
        attr: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type_ = type_
        self.code = code
        self.detail = detail
        self.attr = attr
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type_,
            "code": self.code,
            "detail": self.detail,
            "attr": self.attr,
        }
        if self.extra is not None:
            out["extra"] = self.extra
        return out


def not_found(detail: str = "Not found.") -> HogError:
    return HogError(404, "invalid_request", "not_found", detail)


def invalid(detail: str, attr: str | None = None, code: str = "invalid_input", **extra: Any) -> HogError:
    return HogError(400, "validation_error", code, detail, attr, extra or None)


def server_error() -> HogError:
    """What an uncaught exception inside PostHog looks like."""
    return HogError(500, "server_error", "error", "A server error occurred.")


def method_not_allowed(method: str) -> HogError:
    return HogError(405, "invalid_request", "method_not_allowed", f'Method "{method}" not allowed.')


class AdHocError(SimError):
    """A hand-written ``{"error": "..."}`` body (400, 403, 500, 501 ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.message}
