"""Prometheus metrics of the edge: requests, latency, open sockets, frames."""

from __future__ import annotations

import time

from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("gateway_http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram("gateway_http_request_duration_seconds", "Time to answer an HTTP request", ["route", "method"])
OPEN_SOCKETS = Gauge("gateway_websockets_open", "WebSockets open on this process")
FRAMES = Counter("gateway_websocket_frames_total", "WebSocket frames received (in) and written (out)", ["direction"])
FRAMES_IN = FRAMES.labels("in")
FRAMES_OUT = FRAMES.labels("out")
ROUTES = Counter("gateway_routes_total", "Frames the syncer routed to this process, by whether a socket was here",
                 ["outcome"])
ROUTED_TO_SOCKET = ROUTES.labels("to_socket")
ROUTED_NOWHERE = ROUTES.labels("no_socket")


def route_of(request: web.Request) -> str:
    # The path template, not the path: query strings and ids would explode the label set.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def measure(request: web.Request, handler) -> web.StreamResponse:
    started = time.perf_counter()
    response = await handler(request)
    route = route_of(request)
    REQUESTS.labels(route, request.method, str(response.status)).inc()
    # A WebSocket's "latency" is the life of the connection: not a request time.
    if not isinstance(response, web.WebSocketResponse):
        LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
    return response
