"""The OpenAPI document stays in step with the routes."""

from __future__ import annotations

import re

from starlette.routing import Route
from starlette.testclient import TestClient

from server.app import routes
from server.settings import Settings


def _api_routes() -> set[tuple[str, str]]:
    found = set()
    for route in routes(Settings()):
        if isinstance(route, Route) and route.path.startswith("/api/v1/"):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method.lower(), path))
    return found


def test_every_api_route_is_documented_and_nothing_else(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == _api_routes()


def test_document_is_well_formed(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    text = str(document)
    for ref in re.findall(r"#/components/schemas/(\w+)", text):
        assert ref in schemas, ref
    for path, item in document["paths"].items():
        for name in re.findall(r"\{(\w+)\}", path):
            for method, operation in item.items():
                params = [p["name"] for p in operation.get("parameters", [])]
                assert name in params, (method, path, name)
        for operation in item.values():
            for status, response in operation["responses"].items():
                assert status.isdigit() and "description" in response


def test_documented_statuses_cover_what_the_visit_put_answers(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    statuses = set(document["paths"]["/api/v1/visits/{visit_id}"]["put"]["responses"])
    assert {"200", "201", "400", "401", "403", "404", "409", "413", "422"} <= statuses
    photo = set(
        document["paths"]["/api/v1/visits/{visit_id}/photos/{photo_id}"]["put"]["responses"]
    )
    assert {"200", "201", "404", "409", "413", "422"} <= photo
