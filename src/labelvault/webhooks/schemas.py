"""Wire shapes of webhooks (CVAT's WebhookWriteSerializer fields)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WebhookWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    target_url: str | None = None
    description: str | None = None
    type: str | None = None
    content_type: str | None = None
    secret: str | None = None
    is_active: bool | None = None
    enable_ssl: bool | None = None
    project_id: int | None = None
    events: list[str] | None = None
