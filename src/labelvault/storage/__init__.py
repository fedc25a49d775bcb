"""One storage interface over fsspec: local folders, WebDAV, S3, Azure Blob and GCS."""

from .base import TEMP_PREFIX, Entry, Storage, WriteResult
from .errors import (
    StorageAuthError,
    StorageConfigError,
    StorageError,
    StorageIntegrityError,
    StorageNotFoundError,
    StoragePathError,
    StorageUnreachableError,
)
from .url import StorageLocation, parse_storage_url

__all__ = [
    "TEMP_PREFIX",
    "Entry",
    "Storage",
    "StorageAuthError",
    "StorageConfigError",
    "StorageError",
    "StorageIntegrityError",
    "StorageLocation",
    "StorageNotFoundError",
    "StoragePathError",
    "StorageUnreachableError",
    "WriteResult",
    "parse_storage_url",
]
