"""The OpenAPI document and the app's routes describe the same API, both ways."""

from __future__ import annotations

import redis.asyncio as aioredis

from gateway.app import build_app
from gateway.config import GatewaySettings
from gateway.ops import openapi_document
from gateway.upstreams import Upstreams

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


async def routes_of_the_app() -> set[tuple[str, str]]:
    settings = GatewaySettings(jwt_secret="x" * 32)
    upstreams = Upstreams.from_settings(settings)
    # Nothing connects while the app is only built.
    app = build_app(settings, pool=None, redis=aioredis.Redis(), upstreams=upstreams)
    try:
        return {(route.method.lower(), route.resource.canonical) for route in app.router.routes()}
    finally:
        await upstreams.close()


def routes_of_the_document() -> set[tuple[str, str]]:
    paths = openapi_document()["paths"]
    return {(method, path) for path, operations in paths.items() for method in operations if method in HTTP_METHODS}


async def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    app_routes = await routes_of_the_app()
    documented = routes_of_the_document()
    assert app_routes - documented == set(), "routes missing from openapi.json"
    assert documented - app_routes == set(), "openapi.json documents routes the app does not have"


def test_every_reference_resolves() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
