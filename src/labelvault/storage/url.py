"""Parsing of storage URLs into a backend kind, a root and (secret-bearing) options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .errors import StorageConfigError

Kind = Literal["local", "webdav", "s3", "azure", "gcs"]

REDACTED = "***"

# Query parameters and options whose values are secrets: shown as *** and scrubbed from errors.
SECRET_KEYS = frozenset(
    {
        "password",
        "secret",
        "key",
        "token",
        "sas_token",
        "account_key",
        "connection_string",
        "credential",
        "client_secret",
        "session_token",
    }
)

# Environment variables that libraries read on their own; their values are scrubbed too, since
# a library error could echo them back.
SECRET_ENV = (
    "LABELVAULT_STORAGE_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
)

_SCHEMES: dict[str, Kind] = {
    "file": "local",
    "webdav+https": "webdav",
    "webdav+http": "webdav",
    "webdav": "webdav",
    "webdavs": "webdav",
    "s3": "s3",
    "az": "azure",
    "abfs": "azure",
    "gs": "gcs",
    "gcs": "gcs",
}


@dataclass(frozen=True, repr=False)
class StorageLocation:
    """Where a storage lives: backend kind, root inside that backend and filesystem options."""

    kind: Kind
    # Root as the fsspec filesystem spells it: an absolute local path, a WebDAV path below the
    # server origin, or "bucket/prefix".
    root: str
    redacted_url: str
    options: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"StorageLocation({self.redacted_url!r})"

    __str__ = __repr__

    def scrub(self, text: str) -> str:
        """Replace every known secret in `text` by ***."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, REDACTED)
                quoted = quote(secret, safe="")
                if quoted != secret:
                    text = text.replace(quoted, REDACTED)
        return text


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _pop(options: dict[str, Any], query: dict[str, str], *names: str) -> Any:
    """First value among explicit options, then URL query parameters, for any of `names`."""
    for name in names:
        if options.get(name) is not None:
            return options.pop(name)
    for name in names:
        if query.get(name):
            return query.pop(name)
    return None


def _redacted_query(query: list[tuple[str, str]]) -> str:
    shown = [(k, REDACTED if k.lower() in SECRET_KEYS else v) for k, v in query]
    return ("?" + urlencode(shown, safe="*:/")) if shown else ""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in {"0", "false", "no", "off"}


def parse_storage_url(url: str | os.PathLike[str], **options: Any) -> StorageLocation:
    """Turn a storage URL plus options into a `StorageLocation`; nothing is contacted."""
    text = os.fspath(url).strip()
    if not text:
        raise StorageConfigError("the storage URL is empty: give a folder path or a URL")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    # A single letter is a Windows drive ("C:\\data"), not a scheme.
    if not scheme or len(scheme) == 1:
        return _local(Path(text).expanduser())
    kind = _SCHEMES.get(scheme)
    if kind is None:
        known = ", ".join(sorted(set(_SCHEMES)))
        raise StorageConfigError(
            f"unknown storage URL scheme {scheme!r}: use a folder path or one of {known}"
        )
    options = dict(options)
    query_items = parse_qsl(parts.query, keep_blank_values=False)
    query = dict(query_items)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise StorageConfigError(f"invalid host or port in the storage URL: {exc}") from None
    # Keep the case of bucket/container names: urlsplit lower-cases `hostname`.
    netloc_host = parts.netloc.rpartition("@")[2]
    path = unquote(parts.path)

    if kind == "local":
        if parts.netloc not in ("", "localhost"):
            raise StorageConfigError("file:// URLs must name a local path (file:///srv/data)")
        return _local(Path(path).expanduser())
    if kind == "webdav":
        return _webdav(scheme, host, port, path, user, password, query, query_items, options)
    if kind == "s3":
        return _s3(netloc_host, path, user, password, query, query_items, options)
    if kind == "azure":
        return _azure(netloc_host, path, user, password, query, query_items, options)
    return _gcs(netloc_host, path, query, query_items, options)


def _local(path: Path) -> StorageLocation:
    root = path.resolve()
    return StorageLocation(kind="local", root=root.as_posix(), redacted_url=root.as_posix())


def _clean_prefix(path: str) -> str:
    return "/".join(p for p in path.split("/") if p)


def _webdav(
    scheme: str,
    host: str,
    port: int | None,
    path: str,
    user: str | None,
    password: str | None,
    query: dict[str, str],
    query_items: list[tuple[str, str]],
    options: dict[str, Any],
) -> StorageLocation:
    if not host:
        raise StorageConfigError("the WebDAV URL has no host: webdav+https://user:pass@host/path")
    http = "http" if scheme == "webdav+http" else "https"
    user = options.pop("username", None) or user or _env("LABELVAULT_STORAGE_USERNAME")
    password = options.pop("password", None) or password or _env("LABELVAULT_STORAGE_PASSWORD")
    if password and not user:
        raise StorageConfigError("a WebDAV password was given without a user name")
    host_text = f"[{host}]" if ":" in host else host
    origin = f"{http}://{host_text}" + (f":{port}" if port else "")
    fs_options: dict[str, Any] = {"base_url": origin}
    if user:
        fs_options["auth"] = (user, password or "")
    timeout = _pop(options, query, "timeout")
    fs_options["timeout"] = float(timeout) if timeout is not None else 60.0
    verify = _pop(options, query, "verify")
    if verify is not None:
        fs_options["verify"] = (
            _bool(verify)
            if str(verify).lower() in {"0", "1", "true", "false", "yes", "no", "on", "off"}
            else verify
        )
    fs_options.update(options)
    shown_user = f"{quote(user, safe='')}:{REDACTED}@" if user and password else ""
    if user and not password:
        shown_user = f"{quote(user, safe='')}@"
    redacted = f"{scheme}://{shown_user}{host_text}" + (f":{port}" if port else "")
    redacted += quote("/" + _clean_prefix(path)) + _redacted_query(query_items)
    return StorageLocation(
        kind="webdav",
        root=_clean_prefix(path),
        redacted_url=redacted,
        options=fs_options,
        secrets=_secrets(password, options=options),
    )


def _s3(
    bucket: str,
    path: str,
    user: str | None,
    password: str | None,
    query: dict[str, str],
    query_items: list[tuple[str, str]],
    options: dict[str, Any],
) -> StorageLocation:
    if not bucket:
        raise StorageConfigError("the S3 URL has no bucket: s3://bucket/prefix")
    key = _pop(options, query, "key", "access_key_id", "aws_access_key_id") or user
    secret = _pop(options, query, "secret", "secret_access_key", "aws_secret_access_key")
    secret = secret or password
    if bool(key) != bool(secret):
        raise StorageConfigError("S3 needs both an access key id and a secret key, or neither")
    endpoint = _pop(options, query, "endpoint_url", "endpoint") or _env(
        "LABELVAULT_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"
    )
    region = _pop(options, query, "region", "region_name") or _env(
        "AWS_REGION", "AWS_DEFAULT_REGION"
    )
    retries = _pop(options, query, "retries")
    fs_options: dict[str, Any] = {
        # Every Storage gets its own filesystem and sees other writers' changes at once.
        "skip_instance_cache": True,
        "use_listings_cache": False,
        "config_kwargs": {
            "connect_timeout": 10,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
        },
    }
    if retries is not None:
        fs_options["retries"] = int(retries)
    if key:
        fs_options["key"] = key
        fs_options["secret"] = secret
    client_kwargs: dict[str, Any] = {}
    if endpoint:
        fs_options["endpoint_url"] = endpoint
    if region:
        client_kwargs["region_name"] = region
    if client_kwargs:
        fs_options["client_kwargs"] = client_kwargs
    for name in ("config_kwargs", "client_kwargs"):
        if isinstance(options.get(name), dict):
            fs_options[name] = {**fs_options.get(name, {}), **options.pop(name)}
    fs_options.update(options)
    shown = f"{REDACTED}@" if key else ""
    redacted = f"s3://{shown}{bucket}" + quote("/" + _clean_prefix(path))
    redacted_query = list(query_items)
    if endpoint and not any(k in ("endpoint_url", "endpoint") for k, _ in query_items):
        redacted_query.append(("endpoint_url", str(endpoint)))
    redacted += _redacted_query(redacted_query)
    return StorageLocation(
        kind="s3",
        root="/".join(p for p in (bucket, _clean_prefix(path)) if p),
        redacted_url=redacted,
        options=fs_options,
        secrets=_secrets(secret, options=options),
    )


def _azure(
    container: str,
    path: str,
    user: str | None,
    password: str | None,
    query: dict[str, str],
    query_items: list[tuple[str, str]],
    options: dict[str, Any],
) -> StorageLocation:
    if not container:
        raise StorageConfigError("the Azure URL has no container: az://container/prefix")
    fs_options: dict[str, Any] = {"skip_instance_cache": True}
    account = _pop(options, query, "account_name") or user
    account_key = _pop(options, query, "account_key") or password
    for name in ("connection_string", "sas_token", "credential", "account_host"):
        value = _pop(options, query, name)
        if value is not None:
            fs_options[name] = value
    if account:
        fs_options["account_name"] = account
    if account_key:
        fs_options["account_key"] = account_key
    fs_options.update(options)
    # adlfs reads AZURE_STORAGE_* itself when nothing is given here.
    shown = f"{quote(account, safe='')}:{REDACTED}@" if account and account_key else ""
    if account and not account_key:
        shown = f"{quote(account, safe='')}@"
    redacted = f"az://{shown}{container}" + quote("/" + _clean_prefix(path))
    redacted += _redacted_query(query_items)
    secrets = [account_key, fs_options.get("connection_string"), fs_options.get("sas_token")]
    return StorageLocation(
        kind="azure",
        root="/".join(p for p in (container, _clean_prefix(path)) if p),
        redacted_url=redacted,
        options=fs_options,
        secrets=_secrets(*secrets, options=options),
    )


def _gcs(
    bucket: str,
    path: str,
    query: dict[str, str],
    query_items: list[tuple[str, str]],
    options: dict[str, Any],
) -> StorageLocation:
    if not bucket:
        raise StorageConfigError("the GCS URL has no bucket: gs://bucket/prefix")
    fs_options: dict[str, Any] = {"skip_instance_cache": True}
    for name in ("project", "token", "endpoint_url"):
        value = _pop(options, query, name)
        if value is not None:
            fs_options[name] = value
    fs_options.update(options)
    # gcsfs falls back to GOOGLE_APPLICATION_CREDENTIALS / the metadata server by itself.
    redacted = f"gs://{bucket}" + quote("/" + _clean_prefix(path)) + _redacted_query(query_items)
    token = fs_options.get("token")
    # A token that looks like a path names a credentials file, which is not itself secret.
    token_secret = token if isinstance(token, str) and "/" not in token else None
    return StorageLocation(
        kind="gcs",
        root="/".join(p for p in (bucket, _clean_prefix(path)) if p),
        redacted_url=redacted,
        options=fs_options,
        secrets=_secrets(token_secret, options=options),
    )


def _secrets(*values: Any, options: dict[str, Any] | None = None) -> tuple[str, ...]:
    found = [v for v in values if isinstance(v, str) and v]
    if isinstance(options, dict):
        found += [v for k, v in options.items() if k.lower() in SECRET_KEYS and isinstance(v, str)]
    found += [os.environ[name] for name in SECRET_ENV if os.environ.get(name)]
    # Very short "secrets" would scrub ordinary words out of messages.
    return tuple(sorted({v for v in found if len(v) >= 3}))
