"""OIDC sign-in with authlib: discovery, the authorization redirect with PKCE, the code
exchange with ID-token checks, and the local user the provider's claims map to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from labelvault.accounts import service
from labelvault.accounts.models import ROLES, Group, OidcIdentity, User, UserGroup
from labelvault.config import Settings
from labelvault.errors import Forbidden, Invalid, LabelVaultError

# Discovery documents and keys change rarely; providers rotate keys with overlap.
METADATA_SECONDS = 3600
STATE_SECONDS = 600
# Role precedence when several mapped claim values apply.
RANK = {"worker": 0, "user": 1, "admin": 2}

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client


class OidcError(LabelVaultError):
    """The provider refused or answered something we cannot trust (a 400 saying what)."""

    status = 400


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def parse_map(spec: str, what: str) -> dict[str, str]:
    """'lab-admins=admin, students=worker' -> {claim value: target}."""
    found = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        value, sep, target = item.rpartition("=")
        if not sep or not value.strip() or not target.strip():
            raise ValueError(f"{what}: {item.strip()!r} must be 'claim value=target'")
        found[value.strip()] = target.strip()
    return found


@dataclass
class _Cached:
    metadata: dict[str, Any]
    keys: KeySet
    read_at: float


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def _provider(settings: Settings, *, refresh: bool = False) -> _Cached:
    issuer = (settings.oidc_issuer or "").rstrip("/")
    with _cache_lock:
        cached = _cache.get(issuer)
        if cached and not refresh and time.monotonic() - cached.read_at < METADATA_SECONDS:
            return cached
    try:
        metadata = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"], timeout=10).json())
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise LabelVaultError(
            f"The sign-in provider at {issuer} cannot be reached or answers no OIDC "
            f"discovery document ({type(exc).__name__}: {exc}); check LABELVAULT_OIDC_ISSUER.",
            502,
        ) from exc
    if metadata.get("issuer", "").rstrip("/") != issuer:
        raise LabelVaultError(
            f"The provider calls itself {metadata.get('issuer')!r}, not {issuer!r}: set "
            "LABELVAULT_OIDC_ISSUER to exactly its issuer URL.",
            502,
        )
    cached = _Cached(metadata, keys, time.monotonic())
    with _cache_lock:
        _cache[issuer] = cached
    return cached


def _client(settings: Settings) -> OAuth2Client:
    # Imported when sign-in is used: authlib warns about its httpx module at import, which
    # would land on every CLI command's stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from authlib.integrations.httpx_client import OAuth2Client

    return OAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        scope=settings.oidc_scopes,
        code_challenge_method="S256",
        timeout=15,
    )


# ---- the state cookie ------------------------------------------------------------------------
# State, nonce and PKCE verifier travel in a signed, short-lived cookie: any server process
# of a scaled-out instance can finish a sign-in another one started.


def _key(settings: Settings) -> bytes:
    secret = f"{settings.oidc_client_id}:{settings.oidc_client_secret}"
    return hashlib.sha256(b"labelvault-oidc-state:" + secret.encode()).digest()


def _sign(settings: Settings, data: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    mac = hmac.new(_key(settings), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(settings: Settings, value: str) -> dict[str, Any]:
    body, _, mac = value.rpartition(".")
    good = hmac.new(_key(settings), body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, good):
        raise OidcError("The sign-in state is missing or was tampered with: start again.")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if data.get("exp", 0) < time.time():
        raise OidcError("The sign-in took longer than 10 minutes: start again.")
    return data


def safe_next(value: str | None) -> str:
    """Only a path on this server: `next=//evil.example` must not redirect away."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/projects"


def start(settings: Settings, redirect_uri: str, next_path: str | None) -> tuple[str, str]:
    """The provider's authorization URL and the signed state cookie to set."""
    provider = _provider(settings)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    url, _ = _client(settings).create_authorization_url(
        provider.metadata["authorization_endpoint"],
        redirect_uri=redirect_uri,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
    )
    cookie = _sign(
        settings,
        {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "next": safe_next(next_path),
            "exp": int(time.time()) + STATE_SECONDS,
        },
    )
    return url, cookie


def finish(
    settings: Settings, redirect_uri: str, cookie: str | None, params: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """Check the callback, exchange the code, verify the ID token; (claims, next path)."""
    if params.get("error"):
        reason = f"{params['error']} {params.get('error_description', '')}".strip()
        raise OidcError(f"The sign-in provider refused: {reason}")
    saved = _unsign(settings, cookie or "")
    if not params.get("code") or not hmac.compare_digest(params.get("state", ""), saved["state"]):
        raise OidcError("The sign-in answer does not match the sign-in this browser started.")
    provider = _provider(settings)
    client = _client(settings)
    try:
        token = client.fetch_token(
            provider.metadata["token_endpoint"],
            code=params["code"],
            redirect_uri=redirect_uri,
            code_verifier=saved["verifier"],
        )
    except Exception as exc:  # noqa: BLE001  (authlib raises several kinds)
        raise OidcError(f"The provider refused the sign-in code: {exc}") from exc
    claims = _verify_id_token(settings, token.get("id_token"), saved["nonce"])
    userinfo = provider.metadata.get("userinfo_endpoint")
    if userinfo:
        # Group and entitlement claims often come only from the userinfo endpoint.
        extra = client.get(userinfo).json()
        if extra.get("sub") == claims["sub"]:
            claims = {**extra, **claims}
    return claims, saved["next"]


def _verify_id_token(settings: Settings, id_token: str | None, nonce: str) -> dict[str, Any]:
    if not id_token:
        raise OidcError("The provider sent no ID token: is 'openid' in LABELVAULT_OIDC_SCOPES?")
    try:
        try:
            decoded = jwt.decode(id_token, _provider(settings).keys)
        except JoseError:
            # A key rotated since we read the key set.
            decoded = jwt.decode(id_token, _provider(settings, refresh=True).keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": _provider(settings).metadata["issuer"]},
            aud={"essential": True, "value": settings.oidc_client_id},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise OidcError(f"The provider's ID token does not check out: {exc}") from exc
    return dict(decoded.claims)


# ---- claims -> the local user ----------------------------------------------------------------


def _values(claims: dict[str, Any], names: str) -> set[str]:
    found: set[str] = set()
    for name in (n.strip() for n in names.split(",")):
        value = claims.get(name) if name else None
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(str(v) for v in value)
    return found


def _free_username(session: DbSession, wanted: str) -> str:
    base = re.sub(r"[^\w.@+-]", "-", wanted)[:140] or "user"
    name, n = base, 1
    while service.get_by_username(session, name) is not None:
        n += 1
        name = f"{base}-{n}"
    return name


def user_for(session: DbSession, settings: Settings, claims: dict[str, Any]) -> tuple[User, list]:
    """The linked user (created at the first sign-in), roles and groups from the claims.

    Returns the user and the role changes made, as (old, new) pairs for the audit log.
    """
    issuer = _provider(settings).metadata["issuer"]
    subject = str(claims["sub"])
    values = _values(claims, settings.oidc_claims)
    role_map = parse_map(settings.oidc_role_map, "LABELVAULT_OIDC_ROLE_MAP")
    mapped = [role_map[v] for v in values if v in role_map and role_map[v] in ROLES]
    role = max(mapped, key=RANK.__getitem__) if mapped else None
    link = session.get(OidcIdentity, (issuer, subject))
    changes = []
    if link is None:
        wanted = str(claims.get(settings.oidc_username_claim) or claims.get("email") or subject)
        user = service.create_user(
            session,
            _free_username(session, wanted.split("@")[0] if "@" in wanted else wanted),
            None,  # no local password: this user signs in through the provider
            role or settings.oidc_default_role,
            email=str(claims.get("email") or "")[:254],
            first_name=str(claims.get("given_name") or "")[:150],
            last_name=str(claims.get("family_name") or "")[:150],
        )
        session.add(OidcIdentity(issuer=issuer, subject=subject, user_id=user.id))
    else:
        user = session.get(User, link.user_id)  # type: ignore[assignment]
        if role_map and (role or settings.oidc_default_role) != user.role:
            new = role or settings.oidc_default_role
            changes.append((user.role, new))
            user.role = new
    if not user.is_active:
        raise Forbidden("This account is deactivated; ask an admin.")
    _sync_groups(session, settings, user, values)
    session.flush()
    return user, changes


def _sync_groups(session: DbSession, settings: Settings, user: User, values: set[str]) -> None:
    """Membership of every mapped group follows the claims; other groups are left alone."""
    group_map = parse_map(settings.oidc_group_map, "LABELVAULT_OIDC_GROUP_MAP")
    if not group_map:
        return
    wanted = {group_map[v] for v in values if v in group_map}
    for name in set(group_map.values()):
        group = session.scalars(select(Group).where(Group.name == name)).first()
        if group is None:
            if name not in wanted:
                continue
            group = service.create_group(session, name, "from the sign-in provider")
        member = session.get(UserGroup, (group.id, user.id))
        if name in wanted and member is None:
            session.add(UserGroup(group_id=group.id, user_id=user.id))
        elif name not in wanted and member is not None:
            session.execute(
                delete(UserGroup).where(
                    UserGroup.group_id == group.id, UserGroup.user_id == user.id
                )
            )


def check_settings(settings: Settings) -> None:
    """At start: a half-set OIDC configuration is one clear error, not a broken button."""
    if not enabled(settings):
        return
    if not settings.oidc_client_secret:
        raise Invalid("LABELVAULT_OIDC_CLIENT_SECRET is required with LABELVAULT_OIDC_ISSUER")
    parse_map(settings.oidc_role_map, "LABELVAULT_OIDC_ROLE_MAP")
    parse_map(settings.oidc_group_map, "LABELVAULT_OIDC_GROUP_MAP")
    if settings.oidc_default_role not in ROLES:
        raise Invalid(f"LABELVAULT_OIDC_DEFAULT_ROLE must be one of {', '.join(ROLES)}")
