"""Wire shapes of cloud storages (CVAT's CloudStorageWrite/Read); secrets are write-only."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

PROVIDERS = ("AWS_S3_BUCKET", "AZURE_CONTAINER", "GOOGLE_CLOUD_STORAGE")
CREDENTIALS_TYPES = {
    "AWS_S3_BUCKET": ("KEY_SECRET_KEY_PAIR", "ANONYMOUS_ACCESS"),
    "AZURE_CONTAINER": ("ACCOUNT_NAME_TOKEN_PAIR", "CONNECTION_STRING", "ANONYMOUS_ACCESS"),
    "GOOGLE_CLOUD_STORAGE": ("KEY_FILE_PATH", "ANONYMOUS_ACCESS"),
}
SECRET_FIELDS = ("key", "secret_key", "session_token", "account_name", "connection_string")


class CloudStorageWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    provider_type: str | None = None
    resource: str | None = None
    display_name: str | None = None
    credentials_type: str | None = None
    specific_attributes: str | None = None
    description: str | None = None
    owner_id: int | None = None
    manifests: list[str] | None = None
    key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    account_name: str | None = None
    connection_string: str | None = None
    # GCS service-account JSON, when sent as a JSON string instead of a key_file upload.
    key_file: str | None = None
