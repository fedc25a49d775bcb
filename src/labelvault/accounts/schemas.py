"""Wire shapes of users, login, access tokens and groups."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    username: str | None = None
    email: str | None = None
    password: str


class TokenOut(BaseModel):
    key: str = Field(max_length=40)


class BasicUser(BaseModel):
    url: str
    id: int
    username: str
    first_name: str
    last_name: str


class UserRead(BasicUser):
    email: str
    groups: list[str]
    user_groups: list[str] = []
    is_staff: bool
    is_superuser: bool
    is_active: bool
    last_login: datetime | None
    date_joined: datetime
    has_analytics_access: bool = False


class UserCreate(BaseModel):
    username: str
    password: str
    email: str = Field("", max_length=254)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    role: str = "user"


class UserUpdate(BaseModel):
    email: str | None = Field(None, max_length=254)
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)
    is_active: bool | None = None
    role: str | None = None
    password: str | None = None


class PasswordChange(BaseModel):
    old_password: str
    new_password1: str
    new_password2: str | None = None


class AccessTokenRead(BaseModel):
    id: int
    name: str
    created_date: datetime
    updated_date: datetime
    expiry_date: datetime | None
    last_used_date: datetime | None
    read_only: bool
    owner: BasicUser | None = None


class AccessTokenCreated(AccessTokenRead):
    value: str


class AccessTokenWrite(BaseModel):
    name: str = Field("token", max_length=150)
    expiry_date: datetime | None = None
    read_only: bool = False


class AccessTokenPatch(BaseModel):
    """CVAT's PatchedAccessTokenWriteRequest: only the fields sent change."""

    name: str | None = Field(None, min_length=1, max_length=150)
    expiry_date: datetime | None = None
    read_only: bool | None = None


class GroupRead(BaseModel):
    id: int
    name: str
    description: str
    members: list[int]
    created_date: datetime


class GroupWrite(BaseModel):
    name: str | None = Field(None, max_length=150)
    description: str | None = Field(None, max_length=1000)
    members: list[int] | None = None
