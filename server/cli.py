"""``visitscore serve | worker | jobs | migrate | demo | create-user | export | backup | …``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from . import (
    branch_import,
    exports,  # (its import also registers the export job for `worker`)
    json_input,
    outbox_import,
    user_import,
)
from . import demo as demo_module
from . import mail as _mail  # noqa: F401  (registers the mail jobs for `worker`)
from . import move_data as move_module
from . import photo_export as _photo_export  # noqa: F401  (its job, for `worker`)
from . import webhooks as _webhooks  # noqa: F401  (registers the webhook job for `worker`)
from .auth import NO_PASSWORD, hash_password, password_problem
from .db import Conflict, Database, DatabaseFault, DatabaseUnavailable, backup_database
from .db.postgres import DatabaseFault as PostgresFault
from .engines import _without_password, open_database
from .i18n import SUPPORTED, activate, deactivate
from .jobs import Runner, run_until_idle
from .migrate import migrate_all
from .models import ROLES
from .photo_store import FolderStore, PhotoStore, StoreUnavailable
from .queries import api_tokens, chains, questionnaires, users
from .queries import jobs as queue
from .questionnaire import export_document, parse_document
from .scratch import Scratch
from .settings import Settings, from_env
from .views.filters import export_period

T = TypeVar("T")


def data_dir_option(command: Callable[..., T]) -> Callable[..., T]:
    """``--data-dir`` and ``--photo-store``: every command takes both; the command gets
    ``data_dir`` and sets the photo store through :func:`_settings`."""
    command = click.option(
        "--database-url",
        default=None,
        metavar="URL",
        help="The database [env VISITSCORE_DATABASE_URL; default DATA_DIR/visitscore.db]:"
        " postgresql://user:password@host:port/name, or sqlite:////path/to/file.db.",
        callback=_remember("database_url"),
        expose_value=False,
    )(command)
    command = click.option(
        "--photo-store",
        default=None,
        metavar="FOLDER|s3://BUCKET/PREFIX",
        help="Where photo files live [env VISITSCORE_PHOTO_STORE; default DATA_DIR/photos]."
        " S3: VISITSCORE_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.",
        callback=_remember("photo_store"),
        expose_value=False,
    )(command)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the database and photos live [env VISITSCORE_DATA_DIR; default ./data].",
    )(command)


def _remember(name: str) -> Callable[[click.Context, click.Parameter, str | None], None]:
    def keep(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        ctx.meta[f"visitscore.{name}"] = value

    return keep


def _settings(data_dir: Path | None) -> Settings:
    try:
        settings = from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    meta = click.get_current_context().meta
    return settings.with_overrides(
        data_dir=data_dir,
        photo_store=meta.get("visitscore.photo_store"),
        database_url=meta.get("visitscore.database_url"),
    )


def _where(settings: Settings) -> str:
    """The database, for messages (a URL without its password)."""
    if not settings.database_url:
        return str(settings.db_path)
    return _without_password(settings.database_url)


def _photo_store(settings: Settings) -> PhotoStore:
    """The settings' photo store, checked usable now; one clear line if it is not. (Its
    clients are not tied to an event loop: the caller uses it in its own and closes it.)"""
    try:
        store = settings.open_photo_store()
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        asyncio.run(store.check())
    except StoreUnavailable as exc:
        asyncio.run(store.close())
        raise click.ClickException(str(exc)) from exc
    return store


def _run(settings: Settings, work: Callable[[Database], Awaitable[T]], migrate: bool = True) -> T:
    """Open the database (migrating it first unless told not to), run one piece of async
    work, close it."""

    async def main() -> T:
        async with open_database(settings.database_url, settings.data_dir) as db:
            if migrate:
                await migrate_all(db)
            return await work(db)

    try:
        return asyncio.run(main())
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    except (DatabaseFault, PostgresFault) as exc:
        reason = " ".join(str(exc).split())
        raise click.ClickException(f"database error in {_where(settings)}: {reason}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="visitscore")
def main() -> None:
    """Visitscore: mystery-shopping visits, scored and reported."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [default 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port [default 8000].")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=None, help="Worker processes [default 1]."
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log every request (off by default: it costs about a third of throughput).",
)
@click.option(
    "--jobs/--no-jobs",
    "run_jobs",
    default=None,
    help="Also run background jobs (exports, mail) [env VISITSCORE_RUN_JOBS; default on]."
    " Off when `visitscore worker` processes run them.",
)
@data_dir_option
def serve(
    host: str | None,
    port: int | None,
    workers: int | None,
    access_log: bool | None,
    run_jobs: bool | None,
    data_dir: Path | None,
) -> None:
    """Serve the app (migrations run first)."""
    import uvicorn

    settings = _settings(data_dir).with_overrides(
        host=host, port=port, workers=workers, access_log=access_log, run_jobs=run_jobs
    )
    asyncio.run(_photo_store(settings).close())
    applied = _run(settings, migrate_all, migrate=False)
    if applied:
        click.echo(f"Applied: {', '.join(applied)}")
    settings.secret_key()
    os.environ.update(settings.to_env())
    click.echo(
        f"Visitscore on http://{settings.host}:{settings.port}/ "
        f"(data in {settings.data_dir.resolve()}"
        + (f", photos in {settings.photo_store}" if settings.photo_store else "")
        + ")"
    )
    uvicorn.run(
        "server.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        proxy_headers=True,
        log_level="info",
    )


@main.command()
@click.option("--once", is_flag=True, help="Run the jobs that are due, then stop.")
@data_dir_option
def worker(once: bool, data_dir: Path | None) -> None:
    """Run background jobs (exports, mail) from the queue in the database until stopped
    (Ctrl-C or SIGTERM); as many workers as wanted may share one queue."""
    import signal

    settings = _settings(data_dir)
    store = _photo_store(settings)

    async def work(db: Database) -> int:
        scratch = Scratch(settings.data_dir / "uploads")
        runner = Runner(db, store, scratch.open(), settings=settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            if once:
                task: asyncio.Task[Any] = asyncio.create_task(run_until_idle(runner))
            else:
                click.echo(f"Worker {runner.name} running jobs from {_where(settings)}")
                task = asyncio.create_task(runner.run(stop))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if task.done():
                return int(task.result() or 0)  # ran until idle (or raised)
            task.cancel()  # stopped: a job in hand goes back to the queue at once
            await asyncio.gather(task, return_exceptions=True)
            return 0
        finally:
            scratch.close()
            await store.close()

    ran = _run(settings, work)
    if once:
        click.echo(f"Ran {ran} job{'s' if ran != 1 else ''}.")


@main.command()
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@data_dir_option
def jobs(limit: int, data_dir: Path | None) -> None:
    """The newest background jobs: state, attempts, progress, error."""

    async def work(db: Database) -> list[dict[str, Any]]:
        return await queue.recent(db, limit)

    for job in _run(_settings(data_dir), work):
        done = job["done_count"]
        total = job["total_count"]
        progress = f"{done}/{total}" if total is not None else "-"
        line = (
            f"{job['id']:>6}  {job['kind']:<14} {job['state']:<8} attempt {job['attempts']}"
            f"/{job['max_attempts']}  {progress:>15}  {job['created_at']}  {job['who'] or '-'}"
        )
        click.echo(line + (f"  error: {job['error']}" if job["error"] else ""))


@main.command()
@data_dir_option
def migrate(data_dir: Path | None) -> None:
    """Create or upgrade the database; installs the default questionnaire."""
    settings = _settings(data_dir)

    async def work(db: Database) -> tuple[list[str], list[int]]:
        return await migrate_all(db), await db.applied_migrations()

    applied, versions = _run(settings, work, migrate=False)
    click.echo(
        f"Database {_where(settings)} is at migration {max(versions):04d}"
        + (f" (applied {', '.join(applied)})" if applied else "")
    )


@main.command()
@data_dir_option
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Pretend today is this date (the data is the same for the same date).",
)
def demo(data_dir: Path | None, today: Any) -> None:
    """Create the demo programme in an empty data directory and print the logins."""
    settings = _settings(data_dir)
    day: date = today.date() if today else date.today()
    store = _photo_store(settings)

    async def work(db: Database) -> dict[str, int]:
        if await demo_module.has_data(db):
            raise click.ClickException(
                f"{_where(settings)} already has data; the demo needs an empty database"
            )
        try:
            return await demo_module.create_demo(db, store, day)
        finally:
            await store.close()

    counts = _run(settings, work)
    click.echo(
        f"Demo data in {settings.data_dir}: chain Toko Contoh, 12 branches, "
        f"{counts['visits']} visits, {counts['photos']} photos, "
        f"{counts['assignments']} assignments."
    )
    click.echo(f"Logins (password for all: {demo_module.PASSWORD}):")
    for email, name, role in demo_module.DEMO_USERS:
        click.echo(f"  {role:<9} {email:<22} {name}")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--chain", "chain_refs", multiple=True, help="Chain id or code (managers).")
@click.option("--branch", "branch_refs", multiple=True, help="Branch id or code (owners).")
@click.option("--locale", type=click.Choice(list(SUPPORTED)), default=None)
@data_dir_option
def create_user(
    email: str,
    name: str,
    role: str,
    chain_refs: tuple[str, ...],
    branch_refs: tuple[str, ...],
    locale: str | None,
    data_dir: Path | None,
) -> None:
    """Create a user. The password is asked for, or read from VISITSCORE_PASSWORD."""
    settings = _settings(data_dir)
    email, name = email.strip(), name.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="--email")
    if not name:
        raise click.BadParameter("a name is required", param_hint="--name")
    if role == "owner" and not branch_refs:
        raise click.UsageError("an owner needs at least one --branch")
    if role == "manager" and not chain_refs:
        raise click.UsageError("a manager needs at least one --chain")
    if (role != "owner" and branch_refs) or (role != "manager" and chain_refs):
        raise click.UsageError("--branch is for owners and --chain for managers only")
    password = os.environ.get("VISITSCORE_PASSWORD")
    if password is None:
        try:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        except click.Abort as exc:
            raise click.ClickException(
                "no password given: type it when asked, or set VISITSCORE_PASSWORD"
            ) from exc
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    password_hash = hash_password(password)

    async def work(db: Database) -> int:
        if await users.email_taken(db, email):
            raise click.ClickException(f"a user with email {email} already exists")
        branch_ids, chain_ids = [], []
        for ref in branch_refs:
            branch = await chains.find_branch(db, ref)
            if branch is None:
                raise click.ClickException(f"no branch with id or code {ref!r}")
            branch_ids.append(branch.id)
        for ref in chain_refs:
            chain = await chains.find_chain(db, ref)
            if chain is None:
                raise click.ClickException(f"no chain with id or code {ref!r}")
            chain_ids.append(chain.id)
        async with db.transaction() as tx:
            return await users.create(
                tx,
                email=email,
                name=name,
                role=role,  # type: ignore[arg-type]
                password_hash=password_hash,
                locale=locale,
                branch_ids=branch_ids,
                chain_ids=chain_ids,
            )

    user_id = _run(settings, work)
    click.echo(f"Created {role} {email} (id {user_id}).")


@main.command("create-token")
@click.option("--name", required=True, help="What will use it (unique).")
@click.option("--chain", "chain_ref", required=True, help="The chain's id or code.")
@data_dir_option
def create_token(name: str, chain_ref: str, data_dir: Path | None) -> None:
    """Make a read-only API token for one chain and print it (this once only)."""
    settings = _settings(data_dir)
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise click.BadParameter("give a name of 1 to 80 characters", param_hint="--name")

    async def work(db: Database) -> str:
        chain = await chains.find_chain(db, chain_ref)
        if chain is None:
            raise click.ClickException(f"no chain with id or code {chain_ref!r}")
        if await api_tokens.name_taken(db, name):
            raise click.ClickException(f"a token named {name!r} already exists")
        async with db.transaction() as tx:
            _token_id, token = await api_tokens.create(tx, name, chain.id, None)
        return token

    click.echo(_run(settings, work))


@main.command("revoke-token")
@click.argument("name")
@data_dir_option
def revoke_token(name: str, data_dir: Path | None) -> None:
    """Revoke the API token NAME: it reads nothing any more."""
    settings = _settings(data_dir)

    async def work(db: Database) -> bool:
        found = await api_tokens.by_name(db, name)
        if found is None:
            raise click.ClickException(f"no token named {name!r}")
        async with db.transaction() as tx:
            return await api_tokens.revoke(tx, int(found["id"]), None)

    revoked = _run(settings, work)
    click.echo(f"Revoked {name}." if revoked else f"{name} was revoked already.")


@main.command("export-visits")
@click.option("--chain", "chain_ref", required=True, help="The chain's id or code.")
@click.option("--from", "first", metavar="YYYY-MM", default=None, help="The first month.")
@click.option("--to", "last", metavar="YYYY-MM", default=None, help="The last month.")
@click.option("--region", default="", help="Only the branches of this region.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option(
    "--locale",
    type=click.Choice(SUPPORTED),
    default="en",
    help="The columns and answers in this language (fr and id: CSV cells split by ';').",
)
@click.option("--branches", "branch_ids", default=None, hidden=True)  # the server's reader's
@data_dir_option
def export_visits(
    chain_ref: str,
    first: str | None,
    last: str | None,
    region: str,
    fmt: str,
    locale: str,
    branch_ids: str | None,
    data_dir: Path | None,
) -> None:
    """Write a chain's approved visits to standard output, as /chains/{id}/visits.csv
    (or .json) does; months are the branches' own."""
    settings = _settings(data_dir)
    try:
        first_day, end_day = export_period({"from": first or "", "to": last or ""})
    except ValueError as exc:
        raise click.BadParameter("write months as YYYY-MM", param_hint=f"--{exc}") from exc
    wanted = None
    if branch_ids is not None:
        if not re.fullmatch(r"\d+(,\d+)*", branch_ids):
            raise click.BadParameter("branch ids separated by commas", param_hint="--branches")
        wanted = {int(part) for part in branch_ids.split(",")}
    out = sys.stdout.buffer

    async def work(db: Database) -> None:
        chain = await chains.find_chain(db, chain_ref)
        if chain is None:
            raise click.ClickException(f"no chain with id or code {chain_ref!r}")
        branches = await chains.list_branches(db, chain_ids=frozenset({chain.id}))
        if wanted is not None:
            branches = [b for b in branches if b.id in wanted]
        if region and region not in {b.region for b in branches}:
            raise click.ClickException(f"{chain.code} has no region {region!r}")
        token = activate(locale)
        try:
            export = await exports.prepare(db, chain, branches, first_day, end_day, region)
            async for chunk, _rows in exports.text_chunks(export, db, fmt, locale):
                out.write(chunk.encode())
                out.flush()  # a page at a time: whoever reads the pipe gets it as it is made
        finally:
            deactivate(token)

    _run(settings, work, migrate=False)


@main.command()
@click.argument("dest", type=click.Path(path_type=Path))
@data_dir_option
def backup(dest: Path, data_dir: Path | None) -> None:
    """Copy the database (consistent, while serving) and the photos into DEST."""
    settings = _settings(data_dir)
    if settings.on_postgres:
        raise click.ClickException(
            "the database is PostgreSQL: back it up with pg_dump or point-in-time recovery"
            " (docs/scaling.md)"
        )
    if not settings.db_path.exists():
        raise click.ClickException(f"no database at {settings.db_path}")
    if dest.exists() and any(dest.iterdir()):
        raise click.ClickException(f"{dest} is not empty; give a new or empty folder")
    dest.mkdir(parents=True, exist_ok=True)
    # The database first: photos are written before the rows that name them and never
    # deleted, so every photo the copied database names is already on disk.
    backup_database(settings.db_path, dest / "visitscore.db")
    source = _photo_store(settings)
    copy = FolderStore(dest / "photos")

    async def copy_photos() -> int:
        copied = 0
        try:
            async for name in source.names():
                await copy.put(name, await source.get(name), "")
                copied += 1
        finally:
            await source.close()
        return copied

    copied = asyncio.run(copy_photos())
    if settings.secret_path.exists():
        shutil.copy2(settings.secret_path, dest / settings.secret_path.name)
    click.echo(f"Backed up {settings.db_path} and {copied} photo files to {dest}")


@main.command("export-questionnaire")
@click.argument("questionnaire_id")
@click.option(
    "--version",
    "version",
    type=click.IntRange(1),
    default=None,
    help="This version [default: the newest, draft or published].",
)
@data_dir_option
def export_questionnaire(questionnaire_id: str, version: int | None, data_dir: Path | None) -> None:
    """Print a questionnaire version as JSON (docs/questionnaire-format.md)."""
    settings = _settings(data_dir)

    async def work(db: Database) -> dict[str, Any] | None:
        if version is None:
            return await questionnaires.latest_version(db, questionnaire_id)
        return await questionnaires.version_row(db, questionnaire_id, version)

    found = _run(settings, work)
    if found is None:
        raise click.ClickException(
            f"no questionnaire {questionnaire_id!r}" + (f" version {version}" if version else "")
        )
    document = export_document(found["definition"], found["published_at"] is not None)
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


@main.group("export")
def export_group() -> None:
    """Export a chain's visits or a questionnaire (the same commands as export-visits and
    export-questionnaire)."""


export_group.add_command(export_visits, "visits")
export_group.add_command(export_questionnaire, "questionnaire")


@main.command("import-questionnaire")
@click.argument("file", type=click.File("rb"))
@click.option("--publish", is_flag=True, help="Publish it at once (otherwise: a draft).")
@data_dir_option
def import_questionnaire(file: Any, publish: bool, data_dir: Path | None) -> None:
    """Check a questionnaire file and store it as a draft (or publish it). Every problem
    is listed with its path; nothing is stored when there is any."""
    settings = _settings(data_dir)
    try:
        document = json_input.parse(file.read())
    except json_input.BadJson as exc:
        raise click.ClickException(f"{file.name} was refused: {exc.reason}") from exc
    definition, problems = parse_document(document)
    if definition is None:
        for problem in problems:
            click.echo(f"{problem.path or '(top)'}: {problem.message}", err=True)
        raise click.ClickException(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {file.name};"
            " nothing was stored"
        )

    async def work(db: Database) -> tuple[int, bool]:
        async with db.transaction() as tx:
            return await questionnaires.store_version(tx, definition, publish=publish)

    stored, published = _run(settings, work)
    click.echo(
        f"{'Published' if published else 'Stored as a draft:'} {definition['id']} version {stored}"
    )


@main.command("import-outbox")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_dir_option
def import_outbox(file: Path, data_dir: Path | None) -> None:
    """Import the visits of an outbox file that the shopper app exported ("Export to a
    file"), through the same path as a sync: one line per visit (stored, already there,
    refused: why); exits with status 1 if any was refused."""
    settings = _settings(data_dir)
    try:
        document = outbox_import.read_document(file.read_bytes())
    except outbox_import.FileProblem as exc:
        raise click.ClickException(f"{file.name} was refused: {exc}") from exc
    store = _photo_store(settings)

    async def work(db: Database) -> list[outbox_import.Outcome]:
        scratch = Scratch(settings.data_dir / "uploads")
        folder = scratch.open()
        if isinstance(store, FolderStore):
            store.scratch = folder
        pool = ThreadPoolExecutor(1, thread_name_prefix="photo")
        tools = outbox_import.Tools(db, store, pool, folder, settings)
        try:
            return await outbox_import.import_document(tools, document, None, file.name)
        finally:
            pool.shutdown(wait=True)
            scratch.close()
            await store.close()

    outcomes = _run(settings, work)
    for outcome in outcomes:
        click.echo(outcome.line())
    refused = sum(o.refused for o in outcomes)
    if refused:
        click.echo(f"{refused} of {len(outcomes)} refused", err=True)
        raise SystemExit(1)


@main.command("import-branches")
@click.argument("file", type=click.File("rb"))
@click.option("--chain", "chain_ref", required=True, help="Chain id or code.")
@click.option(
    "--new-chain-name",
    default=None,
    help="Create the chain with this name when no chain has that code.",
)
@data_dir_option
def import_branches(
    file: Any, chain_ref: str, new_chain_name: str | None, data_dir: Path | None
) -> None:
    """Add a chain's branches from a CSV file: all rows, or none and every bad row listed.

    Columns: name, code, region, city, address, latitude, longitude, timezone."""
    settings = _settings(data_dir)
    data = file.read()

    async def work(db: Database) -> int:
        chain = await chains.find_chain(db, chain_ref)
        if chain is None and not new_chain_name:
            raise click.ClickException(
                f"no chain with id or code {chain_ref!r} (give --new-chain-name to create it)"
            )
        existing = await chains.branch_codes(db, chain.id) if chain else set()
        rows, problems = branch_import.parse(data, existing)
        if problems:
            for problem in problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(
                f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {file.name};"
                " no branch was added"
            )
        async with db.transaction() as tx:
            chain_id = (
                chain.id
                if chain
                else await chains.create_chain(tx, chain_ref, new_chain_name or chain_ref)
            )
            await chains.add_branches(tx, chain_id, rows, None, file.name)
        return len(rows)

    added = _run(settings, work)
    click.echo(f"Added {added} branch{'es' if added != 1 else ''} to {chain_ref}.")


@main.command("import-users")
@click.argument("file", type=click.File("rb"))
@data_dir_option
def import_users(file: Any, data_dir: Path | None) -> None:
    """Add people from a CSV file: all rows, or none and every bad row listed. Each is
    invited by e-mail to choose a password.

    Columns: email, name, role (required); locale; branches (owners: branch codes, or
    chain/code); chains (managers: chain codes); for shoppers phone, languages,
    home_city, home_region, home_lat, home_lon, state."""
    settings = _settings(data_dir)
    data = file.read()

    async def work(db: Database) -> int:
        rows, problems = user_import.parse(data, await users.import_known(db))
        if problems:
            for problem in problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(
                f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {file.name};"
                " nobody was added"
            )
        async with db.transaction() as tx:
            added = await users.add_imported(tx, rows, None, "Visitscore", NO_PASSWORD)
        return len(added)

    added = _run(settings, work)
    click.echo(f"Added {added} {'person' if added == 1 else 'people'}; each was invited by e-mail.")


@main.command("move-data")
@click.option(
    "--to-database-url",
    required=True,
    metavar="URL",
    help="The empty PostgreSQL database to copy into (postgresql://…).",
)
@click.option(
    "--to-photo-store",
    default=None,
    metavar="FOLDER|s3://BUCKET/PREFIX",
    help="An empty photo store to copy the photos into [default: leave them where they are].",
)
@data_dir_option
def move_data(to_database_url: str, to_photo_store: str | None, data_dir: Path | None) -> None:
    """Copy a SQLite data folder into PostgreSQL (and its photos into another store), then
    check every table's row count and every photo's SHA-256."""
    settings = _settings(data_dir)
    if settings.on_postgres:
        raise click.ClickException("the source must be a SQLite database (--database-url)")
    if not to_database_url.startswith(("postgresql:", "postgres:")):
        raise click.ClickException("--to-database-url must be a postgresql:// URL")
    if not settings.db_path.exists():
        raise click.ClickException(f"no database at {settings.db_path}")
    source_store = _photo_store(settings)
    target_store = (
        _photo_store(settings.with_overrides(photo_store=to_photo_store))
        if to_photo_store
        else None
    )

    async def main() -> move_module.Moved:
        async with (
            open_database(settings.database_url, settings.data_dir) as source,
            open_database(to_database_url, settings.data_dir) as target,
        ):
            try:
                return await move_module.move(
                    source, target, source_store, target_store, say=click.echo
                )
            finally:
                await source_store.close()
                if target_store is not None:
                    await target_store.close()

    try:
        moved = asyncio.run(main())
    except (move_module.MoveRefused, DatabaseUnavailable, StoreUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    except (DatabaseFault, PostgresFault, Conflict) as exc:
        # A row the target refuses (a foreign key the SQLite file left unchecked): the
        # whole copy rolled back.
        reason = " ".join(str(exc).split())
        raise click.ClickException(f"the move stopped: {reason}") from exc
    click.echo(
        f"Moved {sum(moved.rows.values())} rows in {len(moved.rows)} tables"
        + (f" and {moved.photos} photo files" if target_store is not None else "")
        + "; every count and photo checked. Serve with --database-url"
        + (" and --photo-store" if target_store is not None else "")
        + " set to the new places."
    )
