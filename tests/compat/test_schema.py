"""The OpenAPI document at /api/schema/ covers what cvat-sdk 2.80.0 calls, with required fields."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from tests.helpers.compat import Live

pytestmark = pytest.mark.e2e

# (SDK API class, endpoint) pairs the CLI and the high-level SDK use.
USED = {
    "ServerApi": ["retrieve_about", "retrieve_annotation_formats"],
    "AuthApi": ["create_login", "create_logout", "retrieve_access_tokens_self"],
    "UsersApi": ["list", "retrieve", "retrieve_self", "partial_update"],
    "ProjectsApi": [
        "list",
        "create",
        "retrieve",
        "partial_update",
        "destroy",
        "create_dataset",
        "create_dataset_export",
        "create_backup",
        "create_backup_export",
    ],
    "TasksApi": [
        "list",
        "create",
        "retrieve",
        "partial_update",
        "destroy",
        "create_data",
        "retrieve_data",
        "retrieve_data_meta",
        "retrieve_annotations",
        "update_annotations",
        "partial_update_annotations",
        "destroy_annotations",
        "create_annotations",
        "create_dataset_export",
        "create_backup",
        "create_backup_export",
        "retrieve_preview",
    ],
    "JobsApi": [
        "list",
        "retrieve",
        "partial_update",
        "retrieve_annotations",
        "update_annotations",
        "partial_update_annotations",
        "destroy_annotations",
        "create_annotations",
        "retrieve_data",
        "retrieve_data_meta",
    ],
    "LabelsApi": ["list", "retrieve"],
    "RequestsApi": ["list", "retrieve"],
}


def _endpoints() -> list[tuple[str, str, str, Any]]:
    """(id, HTTP method, path, SDK response model or None) for every used endpoint."""
    from cvat_sdk.api_client import ApiClient, apis
    from cvat_sdk.api_client.model_utils import OpenApiModel

    out = []
    client = ApiClient()
    for class_name, names in USED.items():
        api = getattr(apis, class_name)(client)
        for name in names:
            settings = getattr(api, f"{name}_endpoint").settings
            schema = settings["response_schema"]
            model = schema[0] if schema and isinstance(schema[0], type) else None
            if model is not None and not issubclass(model, OpenApiModel):
                model = None  # raw bytes (frames, chunks)
            out.append(
                (
                    f"{class_name}.{name}",
                    settings["http_method"].lower(),
                    settings["endpoint_path"],
                    model,
                )
            )
    return out


ENDPOINTS = _endpoints()


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


@pytest.fixture(scope="module")
def schema(live: Live) -> dict[str, Any]:
    for url in ("/api/schema/", "/api/schema"):
        response = live.api().get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    return response.json()


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref, and pick the non-null branch of anyOf/oneOf and a single allOf."""
    for _ in range(10):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = document["components"]["schemas"][name]
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        elif "anyOf" in node or "oneOf" in node:
            options = [o for o in node.get("anyOf", node.get("oneOf")) if o.get("type") != "null"]
            if len(options) != 1:
                return node
            node = options[0]
        else:
            return node
    return node


def _required(model: type) -> list[str]:
    params = inspect.signature(model._from_openapi_data).parameters
    return [
        name
        for name, p in params.items()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is p.empty
    ]


def _nested_models(types: tuple[Any, ...]) -> list[tuple[type, bool]]:
    """Model classes inside an openapi_types entry: (class, is_list)."""
    from cvat_sdk.api_client.model_utils import OpenApiModel

    out = []
    for item in types:
        if isinstance(item, list):
            out += [(t, True) for t in item if isinstance(t, type) and issubclass(t, OpenApiModel)]
        elif isinstance(item, type) and issubclass(item, OpenApiModel):
            out.append((item, False))
    return out


def _problems(
    document: dict[str, Any], model: type, node: dict[str, Any], where: str, depth: int = 0
) -> list[str]:
    """What the served schema lacks that the SDK model requires, recursively."""
    node = _resolve(document, node)
    if depth > 5 or not hasattr(model, "openapi_types") or "properties" not in node:
        if hasattr(model, "openapi_types") and _required(model) and "properties" not in node:
            return [f"{where}: no object schema for {model.__name__}"]
        return []
    problems = []
    properties = node["properties"]
    required = set(node.get("required", []))
    for name in _required(model):
        if name not in properties:
            problems.append(f"{where}.{name}: required by {model.__name__}, not in the schema")
        elif name not in required:
            problems.append(f"{where}.{name}: required by {model.__name__}, optional in schema")
    for name, types in model.openapi_types.items():
        if name not in properties:
            continue
        for sub, is_list in _nested_models(types):
            child = _resolve(document, properties[name])
            if is_list:
                child = child.get("items", {})
            problems += _problems(document, sub, child, f"{where}.{name}", depth + 1)
    return problems


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    for served, operations in document["paths"].items():
        if _norm(served) == _norm(path) and method in operations:
            return operations[method]
    return None


@pytest.mark.parametrize(
    ("method", "path", "model"),
    [pytest.param(m, p, model, id=i) for i, m, p, model in ENDPOINTS],
)
def test_endpoint_and_response_fields(
    schema: dict[str, Any], method: str, path: str, model: Any
) -> None:
    operation = _operation(schema, method, path)
    assert operation is not None, f"{method.upper()} {path} is not in /api/schema"
    if model is None:
        return
    responses = operation.get("responses", {})
    bodies = [
        content["schema"]
        for code, response in responses.items()
        if code.startswith("2")
        for content in response.get("content", {}).values()
        if content.get("schema")
    ]
    assert bodies, f"{method.upper()} {path}: no response schema (SDK reads {model.__name__})"
    problems = _problems(schema, model, bodies[0], model.__name__)
    assert problems == [], "\n".join(problems)


def test_schema_has_sdk_request_bodies(schema: dict[str, Any]) -> None:
    """Requests the SDK sends with a JSON body are described (generated clients need them)."""
    for method, path in [
        ("post", "/api/auth/login"),
        ("post", "/api/projects"),
        ("post", "/api/tasks"),
        ("patch", "/api/tasks/{id}"),
        ("patch", "/api/jobs/{id}"),
    ]:
        operation = _operation(schema, method, path)
        assert operation is not None and "requestBody" in operation, f"{method} {path}"
