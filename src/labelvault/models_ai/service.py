"""Rules of registered models: register, change, remove, check, and the adapter of each."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.accounts.models import User
from labelvault.db.base import utcnow
from labelvault.errors import Conflict, Invalid, NotFound
from labelvault.models_ai.adapters import Adapter, ModelError, adapter_for
from labelvault.models_ai.models import Model
from labelvault.models_ai.schemas import ModelPatch, ModelRead, ModelWrite

REQUIRED = {
    "deepaas": ("url",),
    "onnx": ("path",),
    "function": (),
    "lsml": ("url",),
}

# Adapters hold HTTP clients and ONNX sessions; one per model version, shared by threads.
_adapters: dict[tuple[int, str], Adapter] = {}
_lock = threading.Lock()


def _check_config(kind: str, config: dict[str, Any]) -> None:
    missing = [key for key in REQUIRED[kind] if not config.get(key)]
    if kind == "function" and not (config.get("module") or config.get("file")):
        missing.append("module (or file)")
    if missing:
        raise Invalid(f"a {kind} model needs config {', '.join(missing)}")
    if kind in ("deepaas", "lsml") and not str(config["url"]).startswith(("http://", "https://")):
        raise Invalid("config url must start with http:// or https://")


def as_read(model: Model) -> ModelRead:
    config = {k: ("***" if k == "token" else v) for k, v in (model.config or {}).items()}
    return ModelRead.model_validate(
        {
            "id": model.id,
            "name": model.name,
            "kind": model.kind,
            "function_kind": model.function_kind,
            "description": model.description,
            "labels": model.labels or [],
            "config": config,
            "enabled": model.enabled,
            "created_date": model.created_date,
            "updated_date": model.updated_date,
        }
    )


def registry_filter(user: User) -> ColumnElement[bool]:
    """The registry an admin manages in this context: the organization's models, or the
    instance-wide ones in the sandbox (X-Organization / org / org_id, as for projects)."""
    return permissions.in_context(user, Model.organization_id)


def usable_filter(user: User) -> ColumnElement[bool]:
    """The functions a user may call: instance-wide ones and those of their context."""
    return or_(Model.organization_id.is_(None), registry_filter(user))


def list_models(
    session: Session, where: ColumnElement[bool] | None = None, enabled_only: bool = False
) -> list[Model]:
    """The models `where` lets through (None: all of them, for the command line)."""
    query = select(Model).where(true() if where is None else where).order_by(Model.id)
    if enabled_only:
        query = query.where(Model.enabled.is_(True))
    return list(session.scalars(query))


def get(session: Session, user: User, model_id: int) -> Model:
    model = session.scalars(
        select(Model).where(Model.id == model_id, registry_filter(user))
    ).first()
    if model is None:
        raise NotFound.of("Model")
    return model


def by_name(session: Session, name: str, where: ColumnElement[bool] | None = None) -> Model:
    """The model of that name among those `where` lets through (None: any, for the CLI)."""
    query = select(Model).where(Model.name == name)
    model = session.scalars(query if where is None else query.where(where)).first()
    if model is None:
        raise NotFound(f"No model (function) named '{name}'; see /api/lambda/functions")
    return model


# Kinds that can take clicks; ONNX model cards and LS ML backends declare no prompts.
INTERACTOR_KINDS = ("deepaas", "function")


def create(
    session: Session, data: ModelWrite, owner_id: int | None, org_id: int | None = None
) -> Model:
    _check_config(data.kind, data.config)
    if data.function_kind == "interactor" and data.kind not in INTERACTOR_KINDS:
        raise Invalid(
            f"a {data.kind} model cannot be an interactor (clicks go to: "
            f"{', '.join(INTERACTOR_KINDS)}); register it as a detector"
        )
    if session.scalars(select(Model.id).where(Model.name == data.name)).first() is not None:
        raise Conflict(f"a model named '{data.name}' exists already")
    model = Model(
        name=data.name,
        kind=data.kind,
        function_kind=data.function_kind,
        description=data.description,
        labels=[label.model_dump() for label in data.labels],
        config=data.config,
        enabled=data.enabled,
        owner_id=owner_id,
        organization_id=org_id,
        created_date=utcnow(),
        updated_date=utcnow(),
    )
    session.add(model)
    session.flush()
    return model


def update(session: Session, model: Model, data: ModelPatch) -> Model:
    if data.config is not None:
        _check_config(model.kind, data.config)
        model.config = data.config
    if data.labels is not None:
        model.labels = [label.model_dump() for label in data.labels]
    if data.description is not None:
        model.description = data.description
    if data.enabled is not None:
        model.enabled = data.enabled
    model.updated_date = utcnow()
    session.flush()
    return model


def delete(session: Session, model: Model) -> None:
    session.delete(model)
    session.flush()


def label_names(model: Model) -> list[str]:
    return [str(label["name"]) for label in model.labels or []]


def adapter(model: Model) -> Adapter:
    """The model's adapter (a ModelError if it cannot be built, e.g. a missing module)."""
    key = (model.id, model.updated_date.isoformat())
    with _lock:
        found = _adapters.get(key)
    if found is None:
        found = adapter_for(model.kind, model.name, dict(model.config or {}), model.labels or [])
        with _lock:
            _adapters[key] = found
    return found


def check(model: Model) -> tuple[bool, str, float]:
    """Ask the model whether it is up (ok, message, milliseconds); never raises when it is down."""
    start = time.perf_counter()
    try:
        ok, message = True, adapter(model).check()
    except ModelError as exc:
        ok, message = False, f"model '{model.name}': {exc}"
    return ok, message, round((time.perf_counter() - start) * 1000, 1)
