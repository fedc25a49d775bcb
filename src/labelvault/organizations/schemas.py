"""Wire shapes of organizations, memberships and invitations (CVAT's field names)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class OrganizationWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    slug: str | None = None
    name: str | None = None
    description: str | None = None
    contact: dict[str, Any] | None = None


class MembershipWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str


class InvitationWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    email: str
