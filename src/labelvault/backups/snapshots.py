"""Instance snapshots: database dump + media + manifest as one tar in `<instance>/snapshots/`."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, MetaData, inspect

from labelvault import __version__
from labelvault.backups import dbdump, journal
from labelvault.backups.paths import instance_root
from labelvault.backups.tarstream import Member, Written, stream_tar
from labelvault.config import INSTANCE_NAME_FILE, Settings
from labelvault.db import Database
from labelvault.db.migrate import alembic_config
from labelvault.storage import Storage, StorageNotFoundError

log = logging.getLogger("labelvault.backups")

# Where snapshots went before instance names: still read, so older installations restore.
SNAPSHOT_DIR = "backups"
FORMAT = "labelvault-snapshot"
FORMAT_VERSION = 1
DB_PART = "database.jsonl.gz"
MANIFEST = "manifest.json"
# Regenerable data (frame caches, previews) is left out: it only adds size.
SKIPPED_DIRS = frozenset({"cache"})


class SnapshotError(Exception):
    """A snapshot cannot be made or restored; the message says why and what to do."""


class SnapshotIntegrityError(SnapshotError):
    """What was read back differs from the manifest: the snapshot is not restored."""


@dataclass
class SnapshotInfo:
    name: str
    path: str
    status: str  # "ok" (manifest beside it) or "incomplete" (no manifest: never restored blind)
    size: int
    created: datetime | None = None
    sha256: str | None = None
    app_version: str | None = None
    schema_revision: str | None = None
    reason: str | None = None
    tables: dict[str, int] = field(default_factory=dict)
    media_files: int = 0
    media_bytes: int = 0
    # The newest journal sequence the snapshot is sure to hold; replay starts after it.
    journal_seq: int | None = None
    instance: str | None = None
    folder: str = SNAPSHOT_DIR

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "status": self.status,
            "size": self.size,
            "sha256": self.sha256,
            "created": self.created.isoformat() if self.created else None,
            "app_version": self.app_version,
            "schema_revision": self.schema_revision,
            "reason": self.reason,
            "tables": self.tables,
            "media_files": self.media_files,
            "media_bytes": self.media_bytes,
            "journal_seq": self.journal_seq,
            "instance": self.instance,
        }


def snapshot_dir(instance: str) -> str:
    return f"{instance}/snapshots"


def _folders(instance: str | None, storage: Storage | None = None) -> list[str]:
    """This instance's snapshot folder, then the shared one of older versions.

    Without an instance (a caller that names none, e.g. a tool looking at a whole storage):
    every instance's folder.
    """
    if instance:
        return [snapshot_dir(instance), SNAPSHOT_DIR]
    found = [snapshot_dir(i) for i in instances_with_snapshots(storage)] if storage else []
    return [*found, SNAPSHOT_DIR]


def instances_with_snapshots(storage: Storage) -> list[str]:
    """Names of the instances that keep snapshots in this storage."""
    try:
        entries = storage.list("")
    except StorageNotFoundError:
        return []
    return sorted(
        e.name
        for e in entries
        if e.is_dir and e.name != SNAPSHOT_DIR and storage.exists(snapshot_dir(e.name))
    )


def local_tmp(settings: Settings) -> Path:
    """Scratch space for dumps and downloads; wiped at start (see cleanup_local)."""
    return settings.data_dir / ".backup-tmp"


def cleanup_local(settings: Settings) -> list[str]:
    """Remove what a killed snapshot, backup or restore left in the data dir."""
    root = local_tmp(settings)
    if not root.exists():
        return []
    removed = sorted(p.name for p in root.iterdir())
    shutil.rmtree(root, ignore_errors=True)
    return removed


def _snapshot_name(created: datetime) -> str:
    return f"snapshot-{created:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _media_members(media_dir: Path) -> Iterator[Member]:
    """Files under the media dir, caches excluded, stat'ed just before they are archived."""
    if not media_dir.exists():
        return
    for root, dirs, files in os.walk(media_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                # Deleted with its task while we ran; the dump may still name the task.
                continue
            rel = path.relative_to(media_dir).as_posix()
            yield Member(f"media/{rel}", size, lambda p=path: p.open("rb"))


def create_snapshot(
    settings: Settings,
    db: Database,
    storage: Storage,
    *,
    reason: str = "manual",
    now: datetime | None = None,
) -> SnapshotInfo:
    """Dump the database and stream it with the media into one verified archive."""
    created = now or datetime.now(UTC)
    name = _snapshot_name(created)
    instance = instance_root(settings)
    folder = snapshot_dir(instance)
    # Read before the dump starts: every entry up to here is in the dump, so a replay after
    # it misses nothing (entries the dump also caught are replayed harmlessly).
    journal_seq = journal.committed_seq(settings)
    work = local_tmp(settings) / f"snapshot-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        dump_path = work / DB_PART
        with dump_path.open("wb") as out:
            dump_info = dbdump.dump(db.engine, out)
            out.flush()
            os.fsync(out.fileno())
        db_member = Member(DB_PART, dump_path.stat().st_size, lambda: dump_path.open("rb"))

        def members() -> Iterator[Member]:
            yield db_member
            yield from _media_members(settings.media_dir)

        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "app_version": __version__,
            "schema_revision": dump_info.revision,
            "created": created.isoformat(),
            "reason": reason,
            "database_dialect": db.engine.dialect.name,
            "tables": dump_info.tables,
            "instance": instance,
            "journal_seq": journal_seq,
        }

        def trailer(written: list[Written]) -> tuple[str, bytes]:
            media = [w for w in written if w.name.startswith("media/")]
            manifest["parts"] = [
                {"name": w.name, "size": w.size, "sha256": w.sha256} for w in written
            ]
            manifest["media"] = {"files": len(media), "bytes": sum(w.size for w in media)}
            return MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2)

        written: list[Written] = []
        storage.makedirs(folder)
        result = storage.write_atomic(
            f"{folder}/{name}.tar", stream_tar(members(), written, trailer)
        )
        # The sidecar, written only after the archive is committed and verified, is what
        # marks a snapshot complete; list() reads it without opening the archive.
        sidecar = dict(
            manifest, archive={"path": result.path, "size": result.size, "sha256": result.sha256}
        )
        storage.write_bytes(
            f"{folder}/{name}.json", orjson.dumps(sidecar, option=orjson.OPT_INDENT_2)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info = _from_manifest(sidecar, result.path)
    log.info("snapshot %s written (%d bytes, reason: %s)", name, result.size, reason)
    return info


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _from_manifest(manifest: dict[str, Any], path: str) -> SnapshotInfo:
    archive = manifest.get("archive") or {}
    media = manifest.get("media") or {}
    seq = manifest.get("journal_seq")
    return SnapshotInfo(
        journal_seq=int(seq) if seq is not None else None,
        instance=manifest.get("instance"),
        folder=PurePosixPath(path).parent.as_posix(),
        name=manifest["name"],
        path=path,
        status="ok",
        size=int(archive.get("size") or 0),
        sha256=archive.get("sha256"),
        created=_parse_time(manifest.get("created")),
        app_version=manifest.get("app_version"),
        schema_revision=manifest.get("schema_revision"),
        reason=manifest.get("reason"),
        tables=dict(manifest.get("tables") or {}),
        media_files=int(media.get("files") or 0),
        media_bytes=int(media.get("bytes") or 0),
    )


def list_snapshots(storage: Storage, instance: str | None = None) -> list[SnapshotInfo]:
    """This instance's snapshots and older ones in `backups/`, newest first; archives
    without a manifest are 'incomplete'."""
    out = []
    for folder in _folders(instance, storage):
        out += _list_folder(storage, folder)
    epoch = datetime.min.replace(tzinfo=UTC)
    out.sort(key=lambda s: (s.created or epoch, s.name), reverse=True)
    return out


def _list_folder(storage: Storage, folder: str) -> list[SnapshotInfo]:
    try:
        entries = storage.list(folder)
    except StorageNotFoundError:
        return []
    names = {e.name for e in entries}
    out = []
    for entry in entries:
        if not entry.name.endswith(".tar"):
            continue
        stem = entry.name[: -len(".tar")]
        if f"{stem}.json" in names:
            try:
                manifest = orjson.loads(storage.read_bytes(f"{folder}/{stem}.json"))
                out.append(_from_manifest(manifest, entry.path))
                continue
            except (orjson.JSONDecodeError, KeyError) as exc:
                log.warning("unreadable snapshot manifest %s.json: %s", stem, exc)
        out.append(
            SnapshotInfo(
                name=stem,
                path=entry.path,
                status="incomplete",
                size=entry.size,
                created=entry.mtime,
                folder=folder,
            )
        )
    return out


def get_snapshot(
    storage: Storage, name: str, instance: str | None = None, until: datetime | None = None
) -> SnapshotInfo:
    """A snapshot by name ('latest': the newest complete one, at or before `until` if given)."""
    snapshots = list_snapshots(storage, instance)
    if name == "latest":
        for snap in snapshots:
            if snap.status == "ok" and (until is None or (snap.created and snap.created <= until)):
                return snap
        where = " or ".join(f"{storage.redacted_url}/{f}" for f in _folders(instance))
        when = f" made at or before {until.isoformat()}" if until else ""
        raise SnapshotError(f"there is no complete snapshot{when} in {where}")
    wanted = name.removesuffix(".tar").removesuffix(".json")
    for snap in snapshots:
        if snap.name == wanted:
            return snap
    raise SnapshotError(
        f"no snapshot named {name!r} in {storage.redacted_url}/{SNAPSHOT_DIR}; "
        "`labelvault snapshot list` shows them"
    )


def delete_snapshot(storage: Storage, name: str, instance: str | None = None) -> None:
    snap = get_snapshot(storage, name, instance)
    for suffix in (".json", ".tar"):
        with contextlib.suppress(StorageNotFoundError):
            storage.delete(f"{snap.folder}/{snap.name}{suffix}")


def prune_snapshots(storage: Storage, keep: int, instance: str | None = None) -> list[str]:
    """Delete complete snapshots beyond the newest `keep` (never the newest one).

    Only this instance's own snapshots count (older ones in `backups/` are left alone), and
    journal segments no kept snapshot needs go with them.
    """
    complete = [
        s
        for s in list_snapshots(storage, instance)
        if s.status == "ok" and (instance is None or s.folder == snapshot_dir(instance))
    ]
    kept, dropped = complete[: max(keep, 1)], complete[max(keep, 1) :]
    removed = []
    for snap in dropped:
        delete_snapshot(storage, snap.name, instance)
        removed.append(snap.name)
    seqs = [s.journal_seq for s in kept]
    if instance and dropped and None not in seqs:
        floor = min(seqs)  # type: ignore[type-var]
        for seg in journal.remote_segments(storage, instance):
            if seg.last_seq <= floor:  # type: ignore[operator]
                with contextlib.suppress(StorageNotFoundError):
                    storage.delete(f"{journal.remote_dir(instance)}/{seg.name}")
    return removed


def journal_reach(storage: Storage, instance: str | None, snap: SnapshotInfo) -> datetime | None:
    """How far a restore from this snapshot reaches: the newest journal entry after it."""
    reach = snap.created
    if instance is None or snap.journal_seq is None:
        return reach
    for seg in journal.remote_segments(storage, instance):
        if seg.last_seq > snap.journal_seq and (reach is None or seg.last_time > reach):
            reach = seg.last_time
    return reach


def restore_instance(settings: Settings, storage: Storage) -> str | None:
    """Which instance a restore brings back: the configured or kept name, else the only
    instance with snapshots in the storage (a new data dir after a node died)."""
    if settings.known_instance_name:
        return settings.known_instance_name
    found = instances_with_snapshots(storage)
    if len(found) > 1:
        raise SnapshotError(
            f"the storage holds snapshots of several instances ({', '.join(found)}); "
            "say which one with --instance-name (LABELVAULT_INSTANCE_NAME)"
        )
    return found[0] if found else None


def _adopt_instance(settings: Settings, instance: str) -> None:
    """The restored data dir goes on as that instance (same storage folder, same journal)."""
    if settings.instance_name:
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    kept = settings.data_dir / INSTANCE_NAME_FILE
    tmp = kept.with_suffix(".tmp")
    tmp.write_text(instance + "\n")
    tmp.replace(kept)


# ---- restore -----------------------------------------------------------------------------


def _head_revision(script: ScriptDirectory) -> str:
    head = script.get_current_head()
    assert head is not None
    return head


def check_revision(db_url: str, revision: str | None, app_version: str | None, name: str) -> None:
    """Refuse a snapshot whose schema this version of LabelVault does not know."""
    script = ScriptDirectory.from_config(alembic_config(db_url))
    if revision is None:
        raise SnapshotError(f"snapshot {name} has no schema revision in its manifest")
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise SnapshotError(
            f"snapshot {name} was made by LabelVault {app_version or '?'} with database schema "
            f"revision {revision!r}, which is newer than this LabelVault {__version__} knows "
            f"(its newest is {_head_revision(script)!r}). Upgrade LabelVault, then restore."
        )


def instance_contents(settings: Settings, engine: Engine) -> list[str]:
    """What makes the instance non-empty: tables with rows and media files."""
    found = [f"{n} ({c} rows)" for n, c in dbdump.table_counts(engine).items() if c]
    tasks = settings.media_dir / "tasks"
    if tasks.exists() and any(p.is_file() for p in tasks.rglob("*")):
        found.append(f"media files in {tasks}")
    return found


def _download(storage: Storage, path: str, target: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in storage.iter_bytes(path):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _safe_member_path(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise SnapshotIntegrityError(f"the snapshot holds an unsafe path {name!r}; not restored")
    return path


def _extract_verified(
    archive: Path, staging: Path, name: str, media: bool = True
) -> dict[str, Any]:
    """Extract every part into `staging`, checking each against the archive's manifest.

    Without `media`, media files are read and checked but not written (a rollback needs
    only the database)."""
    hashes: dict[str, tuple[int, str]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive, "r:") as tar:
            for member in tar:
                if not member.isfile():
                    raise SnapshotIntegrityError(
                        f"snapshot {name} holds a non-file {member.name!r}"
                    )
                rel = _safe_member_path(member.name)
                source = tar.extractfile(member)
                assert source is not None
                if member.name == MANIFEST:
                    manifest = orjson.loads(source.read())
                    continue
                digest = hashlib.sha256()
                if media or rel.parts[0] != "media":
                    target = staging / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with target.open("wb") as out:
                        while chunk := source.read(1024 * 1024):
                            digest.update(chunk)
                            out.write(chunk)
                else:
                    while chunk := source.read(1024 * 1024):
                        digest.update(chunk)
                hashes[member.name] = (member.size, digest.hexdigest())
    except (tarfile.TarError, EOFError) as exc:
        raise SnapshotIntegrityError(
            f"snapshot {name} is not a readable archive ({exc}); not restored"
        ) from exc
    if manifest is None:
        raise SnapshotIntegrityError(f"snapshot {name} has no {MANIFEST}; not restored")
    expected = {p["name"]: (p["size"], p["sha256"]) for p in manifest.get("parts", [])}
    if expected != hashes:
        bad = sorted(n for n in set(expected) | set(hashes) if expected.get(n) != hashes.get(n))
        raise SnapshotIntegrityError(
            f"snapshot {name} is corrupted: checksum mismatch in {', '.join(bad[:5])}; not restored"
        )
    return manifest


def _reset_schema(engine: Engine, revision: str) -> MetaData:
    """Drop every table, migrate to `revision` and return the tables as they are there."""
    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    metadata = MetaData()
    metadata.reflect(engine)
    return metadata


def _replay_after(
    settings: Settings,
    db: Database,
    storage: Storage,
    snap: SnapshotInfo,
    until: datetime | None,
    say: Callable[[str], None],
    enabled: bool,
) -> None:
    """Replay the snapshot's instance's journal after it; the new journal goes on from there."""
    from labelvault.backups import replay

    instance = snap.instance
    if instance is None:
        return  # made before the journal existed
    _adopt_instance(settings, instance)
    # What a replaced instance had not shipped belongs to the timeline being replaced.
    shutil.rmtree(journal.local_dir(settings), ignore_errors=True)
    if enabled and snap.journal_seq is not None:
        say(f"Replaying the annotation journal after seq {snap.journal_seq}")
        replay.replay(db, storage, instance, snap.journal_seq, until, progress=say)
    # Numbers the storage holds are never reused, even after a restore to an earlier time.
    segments = journal.remote_segments(storage, instance)
    top = max([snap.journal_seq or 0] + [s.last_seq for s in segments])
    journal.write_state(settings, last_seq=top, shipped_seq=top)


def _upgrade_head(engine: Engine) -> None:
    from labelvault.db.migrate import upgrade

    upgrade(engine)


def _put_media(settings: Settings, media_source: Path, force: bool) -> None:
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    if force:
        for child in settings.media_dir.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    if media_source.exists():
        for child in media_source.iterdir():
            target = settings.media_dir / child.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            # Same filesystem (both in the data dir), so a rename, not a copy.
            os.replace(child, target)


def restore_snapshot(
    settings: Settings,
    db: Database,
    storage: Storage,
    name: str = "latest",
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    until: datetime | None = None,
    replay_journal: bool = True,
    media: bool = True,
) -> SnapshotInfo:
    """Bring a snapshot back into this data dir and database, then replay the journal.

    With `until`, the instance as it was then: the newest snapshot made at or before it and
    the journal entries committed up to it. Refuses a non-empty instance unless `force`
    (which then replaces everything), and a snapshot from a newer schema. Nothing changes
    until the whole archive has been read back and every part matched its sha256. Without
    `media` only the database comes back (media files are checked, not written).
    """
    say = progress or (lambda _m: None)
    instance = restore_instance(settings, storage)
    snap = get_snapshot(storage, name, instance, until)
    if snap.status != "ok":
        raise SnapshotError(
            f"snapshot {snap.name} is incomplete (its upload never finished); pick another one"
        )
    url = db.engine.url.render_as_string(hide_password=False)
    check_revision(url, snap.schema_revision, snap.app_version, snap.name)
    if inspect(db.engine).has_table("users"):
        contents = instance_contents(settings, db.engine)
    else:
        contents = []
    if contents and not force:
        raise SnapshotError(
            "this instance is not empty (" + ", ".join(contents[:4]) + "); restore into an empty "
            "data dir and database, or pass --force to replace everything"
        )
    work = local_tmp(settings) / f"restore-{uuid.uuid4().hex}"
    staging = work / "staging"
    staging.mkdir(parents=True)
    try:
        say(f"Downloading snapshot {snap.name} ({snap.size} bytes)")
        archive = work / "snapshot.tar"
        size, sha = _download(storage, snap.path, archive)
        if (size, sha) != (snap.size, snap.sha256):
            raise SnapshotIntegrityError(
                f"snapshot {snap.name} is corrupted: checksum mismatch (manifest: "
                f"{snap.size} bytes, sha256 {snap.sha256}; storage: {size} bytes, "
                f"sha256 {sha}); not restored"
            )
        say("Verifying every part")
        manifest = _extract_verified(archive, staging, snap.name, media)
        archive.unlink()
        say("Loading the database")
        metadata = _reset_schema(db.engine, manifest["schema_revision"])
        dbdump.load(db.engine, staging / DB_PART, metadata)
        _upgrade_head(db.engine)
        if media:
            say("Putting the media in place")
            _put_media(settings, staging / "media", force)
        _replay_after(
            settings, db, storage, snap, until if replay_journal else None, say, replay_journal
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("restored snapshot %s", snap.name)
    return snap
