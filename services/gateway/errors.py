"""Every HTTP error leaves as JSON `{"code": <status>, "message": ...}`, whatever raised it."""

from __future__ import annotations

import logging

import grpc
from aiohttp import web

from common.errors import http_status

log = logging.getLogger(__name__)

# What a client may see of a 5xx from another service: its details can name hosts and internals.
UPSTREAM_5XX_MESSAGES = {
    500: "internal error",
    503: "a backing service is unavailable, try again",
    504: "a backing service did not answer in time, try again",
}


class ApiError(Exception):
    """An answer the client can act on; `field` names the request field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, message, field)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def upstream_error(exc: grpc.aio.AioRpcError) -> tuple[int, str]:
    """The HTTP status and client-facing message of a failed gRPC call."""
    status = http_status(exc.code())
    if status >= 500:
        log.warning("upstream call failed", extra={"grpc_code": exc.code().name, "details": exc.details()})
        return status, UPSTREAM_5XX_MESSAGES.get(status, UPSTREAM_5XX_MESSAGES[500])
    return status, exc.details() or exc.code().name.lower()


def error_response(status: int, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    body: dict = {"code": status, "message": message}
    if field is not None:
        body["field"] = field
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.field)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Keeps headers such as Allow on a 405.
        kept = {k: v for k, v in exc.headers.items() if k not in ("Content-Type", "Content-Length")}
        return error_response(exc.status, exc.reason.lower(), headers=kept)
    except grpc.aio.AioRpcError as exc:
        return error_response(*upstream_error(exc))
    except Exception:
        log.exception("unhandled error", extra={"method": request.method, "path": request.path})
        return error_response(500, "internal error")
