"""Rules of cloud storages: validation, the Storage behind a row, listing, status, preview."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.accounts.models import User
from labelvault.cloudstorages.models import CloudStorage
from labelvault.cloudstorages.schemas import (
    CREDENTIALS_TYPES,
    PROVIDERS,
    SECRET_FIELDS,
    CloudStorageWrite,
)
from labelvault.config import Settings
from labelvault.db.base import utcnow
from labelvault.errors import Invalid, NotFound
from labelvault.media import sources
from labelvault.media.images import MediaError, is_image_name, make_preview
from labelvault.storage import (
    Storage,
    StorageAuthError,
    StorageError,
    StorageNotFoundError,
)

ATTRIBUTES = ("endpoint_url", "region", "prefix", "project_id")


class CloudStorageError(Invalid):
    """A cloud storage setting is wrong; the message says which and how to fix it."""


def parse_attributes(text: str) -> dict[str, str]:
    attrs = dict(parse_qsl(text or "", keep_blank_values=False))
    unknown = sorted(set(attrs) - set(ATTRIBUTES))
    if unknown:
        raise CloudStorageError(
            f"specific_attributes has unknown keys {unknown}; use {', '.join(ATTRIBUTES)}"
        )
    return attrs


def _credentials(row: CloudStorage) -> dict[str, str]:
    try:
        return json.loads(row.credentials or "{}")
    except ValueError:
        return {}


def apply(
    session: Session, row: CloudStorage, data: CloudStorageWrite, settings: Settings
) -> CloudStorage:
    """Validate and store the fields of a create or update; secrets merge with the old ones."""
    for field in ("provider_type", "resource", "display_name", "credentials_type"):
        value = getattr(data, field)
        if value is not None:
            setattr(row, field, value.strip())
    if data.specific_attributes is not None:
        parse_attributes(data.specific_attributes)
        row.specific_attributes = data.specific_attributes
    if data.description is not None:
        row.description = data.description
    if data.owner_id is not None:
        row.owner_id = data.owner_id
    if not row.provider_type or row.provider_type not in PROVIDERS:
        raise CloudStorageError(f"provider_type must be one of {', '.join(PROVIDERS)}")
    if not row.resource:
        raise CloudStorageError("resource (the bucket or container name) is required")
    if not row.display_name:
        row.display_name = row.resource[:63]
    allowed = CREDENTIALS_TYPES[row.provider_type]
    if row.credentials_type not in allowed:
        raise CloudStorageError(
            f"credentials_type for {row.provider_type} must be one of {', '.join(allowed)}"
        )
    creds = _credentials(row)
    for field in SECRET_FIELDS:
        value = getattr(data, field)
        if value is not None:
            creds[field] = value
    if data.key_file is not None:
        creds["key_file"] = data.key_file
    needed = {
        "KEY_SECRET_KEY_PAIR": ("key", "secret_key"),
        "ACCOUNT_NAME_TOKEN_PAIR": ("account_name", "session_token"),
        "CONNECTION_STRING": ("connection_string",),
        "KEY_FILE_PATH": ("key_file",),
        "ANONYMOUS_ACCESS": (),
    }[row.credentials_type]
    missing = [f for f in needed if not creds.get(f)]
    if missing:
        raise CloudStorageError(f"{row.credentials_type} needs {', '.join(missing)}")
    azure_anonymous = (
        row.provider_type == "AZURE_CONTAINER" and row.credentials_type == "ANONYMOUS_ACCESS"
    )
    if azure_anonymous and not creds.get("account_name"):
        raise CloudStorageError("anonymous Azure access needs account_name")
    check_endpoints(row.specific_attributes, creds, settings)
    row.credentials = json.dumps(creds)
    row.updated_date = utcnow()
    session.add(row)
    session.flush()
    return row


def endpoints_of(specific_attributes: str, creds: dict[str, str]) -> list[str]:
    """Every address a cloud storage would connect to other than the provider's own."""
    found = []
    endpoint = parse_attributes(specific_attributes).get("endpoint_url", "").strip()
    if endpoint:
        found.append(endpoint)
    # An Azure connection string may name its own endpoints (Azurite, a private proxy).
    for part in (creds.get("connection_string") or "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower().endswith("endpoint") and value.strip():
            found.append(value.strip())
    return found


def check_endpoints(specific_attributes: str, creds: dict[str, str], settings: Settings) -> None:
    """Refuse endpoints in the server's own network unless LABELVAULT_CLOUD_ALLOWED_HOSTS
    lists them, as remote URLs are refused (loopback, private, link-local: SSRF)."""
    allow = sources.allowed_targets(settings, "cloud_allowed_hosts")
    for url in endpoints_of(specific_attributes, creds):
        try:
            sources.check_target(
                url,
                allow,
                setting="LABELVAULT_CLOUD_ALLOWED_HOSTS",
                what="cloud storage endpoints there",
            )
        except sources.SourceError as exc:
            raise CloudStorageError(str(exc)) from None


def _key_file(settings: Settings, row: CloudStorage, content: str) -> str:
    # gcsfs takes a path to the service-account file; keep it private to the data dir.
    folder = settings.data_dir / "cloudstorages"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row.id}-key.json"
    path.write_text(content)
    path.chmod(0o600)
    return str(path)


def build_storage(row: CloudStorage, settings: Settings | None = None) -> Storage:
    """The Storage for a row: its bucket and prefix, with its credentials."""
    attrs = parse_attributes(row.specific_attributes)
    creds = _credentials(row)
    if settings is not None:
        # Checked on every connection too: the allow-list may have shrunk, or a name may
        # resolve elsewhere now than when the row was saved.
        check_endpoints(row.specific_attributes, creds, settings)
    prefix = attrs.get("prefix", "").strip("/")
    options: dict[str, Any] = {}
    if row.provider_type == "AWS_S3_BUCKET":
        url = f"s3://{row.resource}/{prefix}"
        if attrs.get("endpoint_url"):
            options["endpoint_url"] = attrs["endpoint_url"]
        if attrs.get("region"):
            options["region"] = attrs["region"]
        if row.credentials_type == "KEY_SECRET_KEY_PAIR":
            options["key"] = creds["key"]
            options["secret"] = creds["secret_key"]
            if creds.get("session_token"):
                options["token"] = creds["session_token"]
        else:
            options["anon"] = True
    elif row.provider_type == "AZURE_CONTAINER":
        url = f"az://{row.resource}/{prefix}"
        if row.credentials_type == "CONNECTION_STRING":
            options["connection_string"] = creds["connection_string"]
        else:
            options["account_name"] = creds["account_name"]
            if creds.get("session_token"):
                options["sas_token"] = creds["session_token"]
    else:
        url = f"gs://{row.resource}/{prefix}"
        if attrs.get("endpoint_url"):
            options["endpoint_url"] = attrs["endpoint_url"]
        if attrs.get("project_id"):
            options["project"] = attrs["project_id"]
        if row.credentials_type == "KEY_FILE_PATH":
            if settings is None:
                raise CloudStorageError("a key file needs the server settings")
            options["token"] = _key_file(settings, row, creds["key_file"])
        else:
            options["token"] = "anon"
    try:
        return Storage.from_url(url, **options)
    except StorageError as exc:
        raise CloudStorageError(str(exc)) from None


# ---- who sees a cloud storage ---------------------------------------------------------


def visible_filter(user: User) -> ColumnElement[bool]:
    """Admins see every cloud storage, others their own (it holds their credentials); in an
    organization its supervisors and up see all of its storages, as CVAT's rules."""
    return permissions.scoped(
        user, CloudStorage.organization_id, CloudStorage.owner_id == user.id, "supervisor"
    )


def visible_row(session: Session, user: User, cloud_id: int) -> CloudStorage | None:
    return session.scalars(
        select(CloudStorage).where(CloudStorage.id == cloud_id, visible_filter(user))
    ).first()


def visible(session: Session, user: User, cloud_id: int) -> CloudStorage:
    row = visible_row(session, user, cloud_id)
    if row is None:
        raise NotFound.of("Cloud storage")
    return row


# ---- reading ------------------------------------------------------------------------------


def status(storage: Storage) -> str:
    """CVAT's status: AVAILABLE, NOT_FOUND (no such bucket) or FORBIDDEN (credentials)."""
    try:
        storage.list("")
    except StorageAuthError:
        return "FORBIDDEN"
    except StorageNotFoundError:
        return "NOT_FOUND"
    except StorageError:
        return "NOT_FOUND"
    return "AVAILABLE"


def content(
    storage: Storage, prefix: str, next_token: str | None, page_size: int
) -> dict[str, Any]:
    """One page of a folder of the bucket: folders and files, with a token for the next page."""
    rel = sources.clean_rel(prefix, "prefix")
    try:
        entries = storage.list(rel)
    except StorageNotFoundError:
        entries = []
    except StorageError as exc:
        raise CloudStorageError(str(exc)) from None
    items = []
    for entry in entries:
        name = posixpath.basename(entry.path.rstrip("/"))
        if entry.is_dir:
            items.append({"name": name, "type": "DIR", "mime_type": "DIR"})
        else:
            items.append({"name": name, "type": "REG", "mime_type": sources.media_kind(name)})
    items.sort(key=lambda e: (e["type"] != "DIR", e["name"]))
    try:
        start = int(next_token) if next_token else 0
    except ValueError:
        raise CloudStorageError("next_token is not one this server gave") from None
    page = items[start : start + page_size]
    following = start + page_size
    return {"content": page, "next": str(following) if following < len(items) else None}


def preview(open_storage: Callable[[], Storage], settings: Settings, cloud_id: int) -> bytes:
    """A thumbnail of the first image in the bucket (below its prefix); 404 when none."""
    target = settings.data_dir / "cache" / "cloudstorages" / f"{cloud_id}-preview.jpg"
    if target.exists():
        return target.read_bytes()
    try:
        data = _make_preview(open_storage(), settings, cloud_id)
    except ValueError as exc:  # CloudStorageError, SourceError: the bucket has no preview
        raise NotFound.of(f"Preview ({exc})") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_bytes(data)
    return data


def _make_preview(storage: Storage, settings: Settings, cloud_id: int) -> bytes:
    try:
        first = next((e for e in storage.walk("") if is_image_name(e.path)), None)
    except StorageError as exc:
        raise CloudStorageError(str(exc)) from None
    if first is None:
        raise CloudStorageError("the cloud storage holds no images to preview")
    key = f"cloud:{cloud_id}\n{first.path}"
    local = sources.cached_copy(settings, storage, first.path, key)
    try:
        return make_preview(local)
    except MediaError as exc:
        raise CloudStorageError(f"{first.path}: {exc.reason}") from None


def read_json(row: CloudStorage, owner: dict[str, Any] | None) -> dict[str, Any]:
    attrs = parse_attributes(row.specific_attributes)
    return {
        "id": row.id,
        "owner": owner,
        "manifests": [],
        "provider_type": row.provider_type,
        "resource": row.resource,
        "display_name": row.display_name,
        "created_date": row.created_date,
        "updated_date": row.updated_date,
        "credentials_type": row.credentials_type,
        "specific_attributes": urlencode(attrs),
        "description": row.description or "",
        "organization": row.organization_id,
    }
