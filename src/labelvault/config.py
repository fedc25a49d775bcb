"""Settings of a LabelVault instance, read from LABELVAULT_* variables and CLI flags."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

INSTANCE_NAME_FILE = "instance-name"
_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


def default_instance_name(data_dir: Path) -> str:
    """The data dir's folder name plus a short random part: unique, and readable in a listing."""
    base = _NAME_OK.sub("-", data_dir.resolve().name).strip("-.") or "labelvault"
    return f"{base}-{secrets.token_hex(3)}"


def valid_instance_name(name: str) -> str:
    """Instance names become storage folder names: letters, digits, '.', '_' and '-'."""
    if not name or _NAME_OK.search(name) or name.startswith("."):
        raise ValueError(f"instance name {name!r} may hold only letters, digits, '.', '_' and '-'")
    return name


class Settings(BaseSettings):
    """Everything an operator can set; each field is also a flag of `labelvault serve`."""

    model_config = SettingsConfigDict(env_prefix="LABELVAULT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./labelvault-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; a SQLite file in the data dir by default"
    )
    admin_user: str = "admin"
    admin_password: str | None = None
    # Background work: "embedded" runs a worker thread inside the server (SQLite-backed
    # queue in the data dir); a redis:// URL moves the queue to Redis for `labelvault worker`.
    queue_url: str = "embedded"
    workers: int = 2
    # Sessions last two weeks, as Django's default which CVAT keeps.
    session_age_seconds: int = 14 * 24 * 3600
    # Upload limits guard memory and disk; TUS handles anything bigger than one request.
    max_upload_bytes: int = 100 * 1024 * 1024 * 1024
    # Any other body (JSON: annotations, settings) is parsed in memory, so it has its own
    # bound; 512 MiB holds a job of about two million shapes.
    max_json_bytes: int = 512 * 1024 * 1024
    # A body that sends nothing for this long is dropped with 408 (slow-body attacks).
    body_idle_timeout: float = 60.0
    # Where snapshots, backups and the connected share live: a folder, webdav+https://…,
    # s3://…, az://…, gs://…. By default a folder next to the data dir (not inside it, so
    # `labelvault instance delete` keeps the snapshot it writes).
    storage_url: str | None = None
    # Refuse to start without a storage_url (a platform wants backups off the data's disk).
    storage_required: bool = False
    # Everything this instance writes in the storage sits under this name, so several
    # deployments share one storage safely; by default derived once and kept in the data dir.
    instance_name: str | None = None
    # Remote URLs (remote_files): private, loopback and link-local targets are refused unless
    # listed here (comma list of hosts, IPs or CIDRs; "*" allows any) — guards against SSRF.
    remote_allowed_hosts: str = ""
    # The same guard for cloud storage endpoints (endpoint_url, an Azure BlobEndpoint):
    # a user could otherwise browse or port-scan the server's own network through one.
    cloud_allowed_hosts: str = ""
    remote_max_bytes: int = 4 * 1024**3
    remote_timeout: float = 60.0
    # Images above this many pixels are refused before any pixel is decoded (decompression
    # bombs): a 190 KB PNG can declare 14000x14000, which decodes to ~600 MB of RGB.
    # 100 Mpx bounds one decode at ~300 MB; raise it for large aerial or slide scans.
    max_image_pixels: int = 100_000_000
    # Disk caches: compressed frames/chunks/previews, and files read through from a remote
    # share or bucket. The oldest entries go first when full.
    media_cache_bytes: int = 4 * 1024**3
    source_cache_bytes: int = 8 * 1024**3
    # Login throttling: after this many failed logins within login_lockout_seconds, an
    # account (or a client address) gets 429 until the oldest failure is that old; a
    # successful login clears the account's count. 0 turns a limit off.
    login_max_failures_per_user: int = 5
    login_max_failures_per_address: int = 50
    login_lockout_seconds: int = 900
    # Reverse proxies whose X-Forwarded-For/-Proto/-Host are believed (comma list of
    # addresses or CIDRs); from anyone else those headers are dropped.
    trusted_proxies: str = ""
    # OIDC sign-in ("Sign in with <oidc_name>" on the login page); local accounts stay.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_name: str = "single sign-on"
    oidc_scopes: str = "openid email profile"
    oidc_username_claim: str = "preferred_username"
    # Claims whose values (a list or one string) map to roles and groups, e.g.
    # "groups,eduperson_entitlement"; the maps are "claim value=role" / "claim value=group"
    # comma lists. A role map, when set, is applied at every sign-in (the platform decides).
    oidc_claims: str = "groups"
    oidc_role_map: str = ""
    oidc_group_map: str = ""
    oidc_default_role: str = "user"
    # "text" or "json" (one object per line, with the request id; access log included).
    log_format: str = "text"
    # When set, GET /metrics needs `Authorization: Bearer <this>`; otherwise it is open
    # (keep it off the public proxy).
    metrics_token: str | None = None
    backups: bool = True
    # One row per annotation save (who, when, how many objects): the activity pages.
    activity: bool = True
    backup_quota: str | None = None
    snapshot_interval: str | None = None
    snapshot_on_exit: bool = True
    restore_snapshot: str | None = None
    # POST /api/auth/register: off unless an admin opens sign-up (CVAT's is on by default).
    allow_registration: bool = False
    # Outgoing mail (organization invitations): off until smtp_host is set; without it an
    # invitation is shared by its link.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "labelvault@localhost"
    # Webhook deliveries: attempts per delivery and the first retry's delay (doubling).
    webhook_attempts: int = 5
    webhook_retry_seconds: float = 10.0
    webhook_timeout: float = 10.0

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'labelvault.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        """The storage root: the configured URL, or a folder next to the data dir.

        Next to it, not inside: `instance delete` removes the data dir and the snapshot it
        has just written must survive that.
        """
        if self.storage_url:
            return self.storage_url
        data_dir = self.data_dir.resolve()
        return str(data_dir.with_name(data_dir.name + "-storage"))

    @property
    def known_instance_name(self) -> str | None:
        """The configured name, else the one kept in the data dir; None for a new data dir.

        A restore into a new data dir must not name it before it knows which instance it
        brings back, so only the server's start makes a name up (resolved_instance_name).
        """
        if self.instance_name:
            return self.instance_name
        kept = self.data_dir / INSTANCE_NAME_FILE
        if kept.is_file():
            return kept.read_text().strip() or None
        return None

    @property
    def resolved_instance_name(self) -> str:
        """The configured name, else the one kept in the data dir, else a new one kept there."""
        known = self.known_instance_name
        if known:
            return known
        kept = self.data_dir / INSTANCE_NAME_FILE
        name = default_instance_name(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_suffix(".tmp")
        tmp.write_text(name + "\n")
        tmp.replace(kept)
        return name

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.media_dir, self.uploads_dir, self.exports_dir):
            path.mkdir(parents=True, exist_ok=True)
