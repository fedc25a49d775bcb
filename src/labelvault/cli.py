"""The `labelvault` command: serve, worker, user and token management, migrations."""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from labelvault import __version__
from labelvault.config import Settings
from labelvault.errors import disk_full_of

# Below this much free space the server would fail its first writes (a login's session, the
# lock file, the queue): it refuses to start instead of serving errors.
MIN_FREE_BYTES = 16 * 1024 * 1024


def _free_bytes(data_dir: Path) -> int:
    """Free space on the data dir's disk (or its nearest existing parent's, before it exists)."""
    where = data_dir if data_dir.exists() else next(p for p in data_dir.parents if p.exists())
    return shutil.disk_usage(where).free


def _disk_full(data_dir: Path) -> click.ClickException:
    free = _free_bytes(data_dir)
    return click.ClickException(
        f"the disk is full under {data_dir.resolve()} ({free:,} bytes free, "
        f"{MIN_FREE_BYTES // 2**20} MiB needed): free space there, then start the server "
        "again; no data was lost"
    )


def refuse_full_disk(data_dir: Path) -> None:
    """Raise the one-line ClickException when the data dir's disk is (nearly) full."""
    if _free_bytes(data_dir.resolve()) < MIN_FREE_BYTES:
        raise _disk_full(data_dir)


def storage_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--data-dir and --database-url, shared by every command that opens the database."""

    @click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Data folder [env LABELVAULT_DATA_DIR; default ./labelvault-data]",
    )
    @click.option(
        "--database-url",
        default=None,
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
        "[env LABELVAULT_DATABASE_URL; default SQLite in the data dir]",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, data_dir: Path | None, database_url: str | None, **kwargs: Any) -> Any:
        return func(*args, overrides={"data_dir": data_dir, "database_url": database_url}, **kwargs)

    return wrapper


def make_settings(overrides: dict[str, Any]) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def open_db(overrides: dict[str, Any]):  # type: ignore[no-untyped-def]
    from labelvault.db import Database
    from labelvault.db.migrate import upgrade

    settings = make_settings(overrides)
    settings.ensure_dirs()
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    return db


@click.group()
@click.version_option(__version__, prog_name="labelvault")
def main() -> None:
    """LabelVault: self-hosted image annotation that speaks CVAT's REST API."""


@main.command()
@storage_options
@click.option("--host", default=None, help="Address to listen on [default 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port [default 8080]")
@click.option(
    "--queue-url",
    default=None,
    help="'embedded' (default) or redis://host:6379/0 for separate workers",
)
@click.option("--workers", type=int, default=None, help="Background worker threads")
@click.option("--admin-user", default=None, help="Admin ensured at start [default admin]")
@click.option(
    "--admin-password",
    default=None,
    help="Its password (env LABELVAULT_ADMIN_PASSWORD); generated on first start",
)
@click.option(
    "--storage-url",
    default=None,
    help="Storage for the share, snapshots and backups: a folder, webdav+https://…, s3://…, "
    "az://…, gs://… [env LABELVAULT_STORAGE_URL; default a folder next to the data dir]",
)
@click.option(
    "--restore-snapshot",
    default=None,
    help="Start from a snapshot in the storage: 'latest' or its name "
    "[env LABELVAULT_RESTORE_SNAPSHOT]",
)
@click.option(
    "--restore-at",
    default=None,
    help="Start from the instance as it was at this ISO time (UTC unless an offset is given)",
)
@click.option("--force", is_flag=True, help="Restore even into a data dir that is not empty")
@click.option(
    "--no-snapshot-on-exit",
    "no_snapshot",
    is_flag=True,
    help="Do not write a snapshot when the server stops",
)
def serve(
    overrides: dict[str, Any],
    force: bool,
    no_snapshot: bool,
    restore_at: str | None,
    **options: Any,
) -> None:
    """Run the server."""
    import uvicorn

    from labelvault.app import create_app, prepare

    if no_snapshot:
        options["snapshot_on_exit"] = False
    settings = make_settings(overrides | options)
    from labelvault.backups.cli import check_storage_at_start, claim_data_dir

    # Before anything is written: a full data disk is one line, not a half start.
    refuse_full_disk(settings.data_dir)
    # Before anything is written: a storage problem is one line saying what to fix.
    storage = check_storage_at_start(settings)

    # Held for the server's life: deletes and restores from the CLI refuse meanwhile.
    server_lock = claim_data_dir(settings.data_dir, force)
    if settings.restore_snapshot or restore_at:
        from labelvault.backups.cli import restore_into

        # Before migrations and the admin: the snapshot brings its own schema and users.
        restore_into(
            settings.data_dir,
            settings.database_url,
            settings.storage_url,
            settings.restore_snapshot or "latest",
            force,
            until=restore_at,
            locked=True,
        )
    try:
        db, generated = prepare(settings)
    except Exception as exc:
        if disk_full_of(exc) is None:
            raise
        # Nothing was lost; the server cannot migrate or log in users until space is freed.
        raise _disk_full(settings.data_dir) from None
    if settings.restore_snapshot or restore_at:
        from labelvault.observability import audit

        audit.record_now(
            db.sessionmaker,
            "snapshot.restore",
            username="cli",
            target=f"snapshot {settings.restore_snapshot or 'latest'}",
            detail=f"at {restore_at}" if restore_at else "",
        )
    url = f"http://{settings.host}:{settings.port}"
    click.echo(
        f"LabelVault {__version__} at {url}  (data: {settings.data_dir.resolve()}, "
        f"database: {db.engine.url.render_as_string(hide_password=True)})"
    )
    if generated:
        click.echo(
            f"Log in as '{settings.admin_user}' with the generated password: {generated}"
            "\n  (shown once; only its hash is stored. Set LABELVAULT_ADMIN_PASSWORD "
            "to choose it.)"
        )
    elif settings.admin_password is None and (settings.restore_snapshot or restore_at):
        # The snapshot brought its users back: no password was set, so none was changed.
        click.echo(
            f"Log in as '{settings.admin_user}' with the password the restored instance had "
            "(the one generated at its very first start, unless it was changed since)."
        )
    elif settings.admin_password is None:
        click.echo(
            f"Log in as '{settings.admin_user}' with the password it already has (generated "
            "at the first start, unless changed since; set LABELVAULT_ADMIN_PASSWORD to reset it)."
        )
    else:
        click.echo(
            f"Log in as '{settings.admin_user}' with the password you set "
            "(LABELVAULT_ADMIN_PASSWORD or --admin-password)."
        )
    click.echo(f"cvat-cli: cvat-cli --server-host {url} --auth {settings.admin_user} task ls")
    instance_name = settings.resolved_instance_name
    if storage is not None and storage["same_disk_as_data"]:
        click.echo(
            f"Backups of instance {instance_name} go to {storage['storage']}, on the "
            "SAME DISK as the data: set LABELVAULT_STORAGE_URL to keep them elsewhere."
        )
    elif storage is not None:
        click.echo(f"Backups of instance {instance_name} go to {storage['storage']}.")
    app = create_app(settings, db)
    from labelvault.observability import logs

    logs.configure(settings.log_format)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,  # logs.configure set the format (text, or JSON with request ids)
        access_log=settings.log_format != "json",  # JSON mode logs its own, with request ids
        # ForwardedHeaders in the app honours them, and only from LABELVAULT_TRUSTED_PROXIES.
        proxy_headers=False,
        timeout_graceful_shutdown=30,
    )
    server_lock.release()


@main.command()
@storage_options
@click.option("--queue-url", required=True, help="redis://host:6379/0, as given to serve")
@click.option("--workers", type=int, default=None)
def worker(overrides: dict[str, Any], **options: Any) -> None:
    """Run a background worker for a server started with the same --queue-url."""
    from labelvault.background.queue import Queue
    from labelvault.backups import handlers as _backup_handlers  # noqa: F401  (registers)
    from labelvault.cloudstorages.registry import CloudStorages
    from labelvault.datasets import handlers as _datasets_handlers  # noqa: F401
    from labelvault.media import handlers as media_handlers
    from labelvault.review import handlers as _review_handlers  # noqa: F401
    from labelvault.webhooks import dispatch as webhook_dispatch

    media_handlers.register(CloudStorages)

    settings = make_settings(overrides | options)
    from labelvault.observability import logs

    logs.configure(settings.log_format)
    db = open_db(overrides)
    queue = Queue(settings, db)
    # The worker sends webhook deliveries too (its tasks must be known to the consumer).
    webhook_dispatch.start(db, settings, queue)
    from labelvault.backups.lifecycle import start_worker_scheduler

    # Servers on a shared queue leave the periodic work (scheduled backups) to the workers.
    scheduler = start_worker_scheduler(settings, db)
    try:
        queue.run_worker()
    finally:
        if scheduler is not None:
            scheduler.stop()


@main.command()
@storage_options
def migrate(overrides: dict[str, Any]) -> None:
    """Apply database migrations and exit."""
    open_db(overrides)
    click.echo("Database is up to date.")


@main.group()
def user() -> None:
    """Manage user accounts."""


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@user.command("create")
@storage_options
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["admin", "user", "worker"]), default="user")
@click.option("--email", default="")
def user_create(
    overrides: dict[str, Any], username: str, password: str, role: str, email: str
) -> None:
    """Create a user."""
    from labelvault.accounts import service

    db = open_db(overrides)
    try:
        with db.session() as session:
            service.create_user(session, username, password, role=role, email=email)
    except service.AccountError as exc:
        _fail(str(exc))
    click.echo(f"Created {role} '{username}'.")


@user.command("passwd")
@storage_options
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_passwd(overrides: dict[str, Any], username: str, password: str) -> None:
    """Set a user's password (ends their browser sessions)."""
    from labelvault.accounts import service

    db = open_db(overrides)
    try:
        with db.session() as session:
            found = service.get_by_username(session, username)
            if found is None:
                raise service.AccountError(f"no user named '{username}'")
            service.set_password(session, found, password)
    except service.AccountError as exc:
        _fail(str(exc))
    click.echo(f"Password of '{username}' changed.")


@user.command("list")
@storage_options
def user_list(overrides: dict[str, Any]) -> None:
    """List users."""
    from sqlalchemy import select

    from labelvault.accounts.models import User

    db = open_db(overrides)
    with db.session() as session:
        users = list(session.scalars(select(User).order_by(User.id)))
        click.echo(f"{'id':>4}  {'username':<24} {'role':<7} {'active':<6} email")
        for u in users:
            click.echo(
                f"{u.id:>4}  {u.username:<24} {u.role:<7} "
                f"{'yes' if u.is_active else 'no':<6} {u.email}"
            )


@user.command("delete")
@storage_options
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
def user_delete(overrides: dict[str, Any], username: str, yes: bool) -> None:
    """Delete a user (their projects and tasks stay, without an owner)."""
    from labelvault.accounts import service

    db = open_db(overrides)
    with db.session() as session:
        found = service.get_by_username(session, username)
        if found is None:
            _fail(f"no user named '{username}'")
        if not yes:
            click.confirm(f"Delete user '{username}'?", abort=True)
        service.delete_user(session, found)
    click.echo(f"Deleted '{username}'.")


@main.group()
def token() -> None:
    """Manage personal access tokens."""


@token.command("create")
@storage_options
@click.argument("username")
@click.option("--name", default="cli", help="A name to recognise the token by")
def token_create(overrides: dict[str, Any], username: str, name: str) -> None:
    """Create an access token for USERNAME and print it (shown once)."""
    from labelvault.accounts import service

    db = open_db(overrides)
    try:
        with db.session() as session:
            found = service.get_by_username(session, username)
            if found is None:
                raise service.AccountError(f"no user named '{username}'")
            _, raw = service.create_token(session, found, name)
    except service.AccountError as exc:
        _fail(str(exc))
    finally:
        db.dispose()
    click.echo(raw)


@main.group()
def model() -> None:
    """Register the models that pre-label frames (DEEPaaS, ONNX, function modules, LS ML)."""


@model.command("add")
@storage_options
@click.argument("name")
@click.option("--kind", type=click.Choice(["deepaas", "onnx", "function", "lsml"]), required=True)
@click.option("--url", default=None, help="deepaas / lsml: base URL of the service")
@click.option("--model-name", default=None, help="deepaas: the model's name on that server")
@click.option("--path", default=None, help="onnx: the .onnx file")
@click.option("--module", default=None, help="function: dotted module name")
@click.option("--file", "file_", default=None, help="function: a .py file")
@click.option("--labels", default="", help="Comma-separated label names the model answers")
@click.option("--config", "config_json", default="{}", help="More config as JSON (model card, ...)")
@click.option("--interactor", is_flag=True, help="An interactor (clicks -> a shape)")
def model_add(overrides: dict[str, Any], name: str, kind: str, **options: Any) -> None:
    """Register model NAME (its function id in CVAT's lambda API)."""
    import json

    from labelvault.errors import LabelVaultError
    from labelvault.models_ai import service
    from labelvault.models_ai.schemas import ModelWrite

    try:
        config = json.loads(options["config_json"])
    except ValueError as exc:
        _fail(f"--config is not JSON ({exc})")
    for key, option in (("url", "url"), ("model", "model_name"), ("path", "path")):
        if options[option]:
            config[key] = options[option]
    if options["module"]:
        config["module"] = options["module"]
    if options["file_"]:
        config["file"] = options["file_"]
    labels = [{"name": n.strip()} for n in options["labels"].split(",") if n.strip()]
    db = open_db(overrides)
    try:
        data = ModelWrite(
            name=name,
            kind=kind,
            labels=labels,
            config=config,
            function_kind="interactor" if options["interactor"] else "detector",
        )
        with db.session() as session:
            created = service.create(session, data, None)
            model_id = created.id
    except (LabelVaultError, ValueError) as exc:
        _fail(str(exc))
    finally:
        db.dispose()
    click.echo(f"Registered model {model_id} '{name}' ({kind}).")


@model.command("list")
@storage_options
def model_list(overrides: dict[str, Any]) -> None:
    """List registered models."""
    from labelvault.models_ai import service

    db = open_db(overrides)
    try:
        with db.session() as session:
            rows = service.list_models(session)
            click.echo(f"{'id':>4}  {'name':<24} {'kind':<9} {'enabled':<7} labels")
            for row in rows:
                labels = ", ".join(service.label_names(row))
                click.echo(f"{row.id:>4}  {row.name:<24} {row.kind:<9} {row.enabled!s:<7} {labels}")
    finally:
        db.dispose()


def _model_named(session: Any, name: str) -> Any:
    from labelvault.errors import LabelVaultError
    from labelvault.models_ai import service

    try:
        return service.by_name(session, name)
    except LabelVaultError as exc:
        _fail(str(exc))


@model.command("check")
@storage_options
@click.argument("name")
def model_check(overrides: dict[str, Any], name: str) -> None:
    """Ask model NAME whether it is up (exit 1 if it is not)."""
    from labelvault.models_ai import service

    db = open_db(overrides)
    try:
        with db.session() as session:
            ok, message, latency = service.check(_model_named(session, name))
    finally:
        db.dispose()
    if not ok:
        _fail(f"{message} ({latency:.0f} ms)")
    click.echo(f"{message} ({latency:.0f} ms)")


@model.command("remove")
@storage_options
@click.argument("name")
def model_remove(overrides: dict[str, Any], name: str) -> None:
    """Remove model NAME."""
    from labelvault.models_ai import service

    db = open_db(overrides)
    try:
        with db.session() as session:
            service.delete(session, _model_named(session, name))
    finally:
        db.dispose()
    click.echo(f"Removed model '{name}'.")


@main.command()
@storage_options
@click.argument("url")
@click.option("--owner", default=None, help="User who owns what comes in [default the admin]")
@click.option("--dry-run", is_flag=True, help="Only say what would come in")
def adopt(overrides: dict[str, Any], url: str, owner: str | None, dry_run: bool) -> None:
    """Take in the CVAT periodic backups under backups-periodic/ in storage URL.

    Each project comes from its newest full backup, then any newer annotation-only
    archive is applied on top; archives taken in before are not taken again.
    """
    from labelvault.accounts import service
    from labelvault.datasets import adopt as adopting
    from labelvault.errors import LabelVaultError
    from labelvault.storage import Storage

    settings = make_settings(overrides)
    try:
        storage = Storage.from_url(url)
        found = adopting.find_archives(storage)
    except LabelVaultError as exc:
        _fail(str(exc))
    if not found:
        _fail(f"no CVAT backups in {storage}: expected {adopting.ROOT}/<project>/project_*.zip")
    db = open_db(overrides)
    try:
        with db.session() as session:
            user = service.get_by_username(session, owner or settings.admin_user)
            if user is None:
                _fail(f"no user named '{owner or settings.admin_user}'; create it or pass --owner")
            owner_id = user.id
        plans = adopting.plan(db, found)
        work = [p for p in plans if p.backup or p.annotations]
        if dry_run:
            for p in plans:
                parts = [f"restore {p.backup.name}"] if p.backup else []
                parts += [f"apply {p.annotations.name}"] if p.annotations else []
                click.echo(f"{p.folder}: {'; '.join(parts + p.notes) or 'nothing new'}")
            return
        outcomes = []
        with click.progressbar(
            length=1000 * max(len(work), 1), label="Adopting", show_percent=True
        ) as bar:
            for number, p in enumerate(work):

                def progress(fraction: float, _message: str, base: int = number * 1000) -> None:
                    bar.update(max(0, base + int(1000 * fraction) - bar.pos))

                try:
                    outcomes.append(
                        adopting.adopt_one(db, settings, storage, p, owner_id, progress)
                    )
                except LabelVaultError as exc:
                    failed = adopting.Outcome(p.folder, p.project_id, failed=True)
                    failed.lines.append(f"FAILED: {exc}")
                    outcomes.append(failed)
        done = {o.folder: o for o in outcomes}
        for p in plans:
            o = done.get(p.folder)
            if o is None:
                click.echo(f"{p.folder}: nothing new; {'; '.join(p.notes) or 'up to date'}")
                continue
            line = f"{p.folder}: {'; '.join(o.lines + p.notes)}"
            if o.project_id is not None:
                line += (
                    f"; project {o.project_id} now has {o.tasks} task(s), {o.frames} frame(s), "
                    f"{o.objects} object(s)"
                )
            click.echo(line)
    finally:
        db.dispose()
    if any(o.failed for o in outcomes):
        sys.exit(1)


@main.command("migrate-from-cvat")
@storage_options
@click.option("--url", required=True, help="The CVAT server, e.g. https://cvat.example.org")
@click.option("--token", envvar="CVAT_ACCESS_TOKEN", default=None, help="A CVAT access token")
@click.option("--username", default=None, help="Or sign in to CVAT with a user name ...")
@click.option("--password", envvar="CVAT_PASSWORD", default=None, help="... and its password")
@click.option("--owner", default=None, help="User who owns what comes in [default the admin]")
@click.option("--dry-run", is_flag=True, help="Only say what would come in")
def migrate_from_cvat(
    overrides: dict[str, Any],
    url: str,
    token: str | None,
    username: str | None,
    password: str | None,
    owner: str | None,
    dry_run: bool,
) -> None:
    """Bring every project and task of a running CVAT in through its REST API.

    Each project (and each task outside a project) comes from a backup CVAT makes of it,
    with its labels, annotations and jobs; owners and assignees are kept by user name
    (users missing here are made, without a password). What came in is recorded, so an
    interrupted run is resumed by running it again, and nothing comes in twice.
    """
    from labelvault.accounts import service
    from labelvault.datasets import migrate_cvat as migrating
    from labelvault.datasets.cvat_client import CvatClient
    from labelvault.errors import LabelVaultError

    if username and password is None:
        password = click.prompt("CVAT password", hide_input=True)
    settings = make_settings(overrides)
    try:
        client = CvatClient(url, token=token, username=username, password=password)
        about = client.about()
    except LabelVaultError as exc:
        _fail(str(exc))
    click.echo(f"{about.get('name') or 'CVAT'} {about.get('version') or ''} at {client.url}")
    db = open_db(overrides)
    outcomes: list[Any] = []
    try:
        with db.session() as session:
            user = service.get_by_username(session, owner or settings.admin_user)
            if user is None:
                _fail(f"no user named '{owner or settings.admin_user}'; create it or pass --owner")
            owner_id = user.id
        try:
            items = migrating.survey(db, client)
        except LabelVaultError as exc:
            _fail(str(exc))
        work = [i for i in items if i.local_id is None and not i.note]
        if dry_run:
            for i in items:
                state = i.note or ("already here" if i.local_id else "would come in")
                click.echo(f"{i.kind} {i.source_id} {i.name}: {len(i.tasks)} task(s), {state}")
            return
        with (
            client,
            click.progressbar(
                length=1000 * max(len(work), 1), label="Migrating", show_percent=True
            ) as bar,
        ):
            for number, item in enumerate(work):

                def progress(fraction: float, _message: str, base: int = number * 1000) -> None:
                    bar.update(max(0, base + int(1000 * fraction) - bar.pos))

                try:
                    outcomes.append(
                        migrating.migrate_one(db, settings, client, item, owner_id, progress)
                    )
                except LabelVaultError as exc:
                    outcomes.append(migrating.Outcome(item, error=str(exc)))
        done = {(o.item.kind, o.item.source_id): o for o in outcomes}
        for i in items:
            head = f"{i.kind} '{i.name}' (CVAT {i.source_id})"
            o = done.get((i.kind, i.source_id))
            if o is None:
                click.echo(f"{head}: {i.note or f'already here as {i.kind} {i.local_id}'}")
            elif o.error:
                click.echo(f"{head}: FAILED: {o.error}")
            else:
                line = (
                    f"{head}: now {i.kind} {o.local_id} with {o.tasks} task(s), "
                    f"{o.frames} frame(s), {o.objects} object(s), {o.assigned} assignment(s)"
                )
                if o.users_created:
                    line += f"; users made: {', '.join(o.users_created)}"
                click.echo(line)
        ok = sum(1 for o in outcomes if not o.error)
        before = len(items) - len(work)
        click.echo(f"{ok} of {len(work)} item(s) brought in; {before} there before.")
    finally:
        db.dispose()
    if any(o.error for o in outcomes):
        sys.exit(1)


def _register_backup_commands() -> None:
    from labelvault.backups.cli import backup, instance, snapshot

    for command in (backup, instance, snapshot):
        main.add_command(command)


_register_backup_commands()

if __name__ == "__main__":
    main()
