"""Configuration: environment variables, overridden by CLI flags.

Every setting has a ``VISITSCORE_*`` environment variable so that uvicorn workers,
which import the app afresh, see what the CLI was told.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from .photo_store import PhotoStore, open_store

ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or, installed from a wheel, the folder that holds the package)."""

_BUNDLED = Path(__file__).resolve().parent / "_assets"
ASSETS = _BUNDLED if _BUNDLED.is_dir() else ROOT
"""Where pwa/, static/ and service-worker.js are: beside server/ in a checkout,
inside it (server/_assets) when installed from a wheel."""


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("data"))
    # Where photo files live: empty for <data_dir>/photos, a folder, or s3://bucket/prefix
    # (server/photo_store.py).
    photo_store: str = ""
    # The database: empty for <data_dir>/visitscore.db, sqlite:///path or postgresql://…
    # (server/engines.py).
    database_url: str = field(default_factory=lambda: os.environ.get("VISITSCORE_DATABASE_URL", ""))
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    access_log: bool = False
    # Programme settings that are not yet per-programme rows.
    review_required: bool = True
    keep_originals: bool = False
    max_photo_bytes: int = 15 * 1024 * 1024
    # A shopper is not sent back to a branch within this many days (staff would know them).
    repeat_days: int = 60
    # Photos decoded at once: bounds memory when many uploads arrive together.
    photo_workers: int = 2
    # Sessions and login protection.
    session_days: int = 30
    # Failed logins allowed before a delay (1 s, doubling, at most the window) starts.
    login_free_failures_per_account: int = 3  # per account *and* address
    login_free_failures_per_address: int = 20
    login_window_seconds: int = 15 * 60
    # Read connections beside the single writer.
    read_connections: int = 3
    # Whether this server process also runs background jobs (exports); off when
    # `visitscore worker` processes run them instead.
    run_jobs: bool = True
    # Whether this server runs them in a child process (`visitscore worker --once`, at a
    # lower CPU priority) so that a long export never slows its requests; in the same
    # process when off (the tests' apps). A big streamed export
    # (`/chains/{id}/visits.csv`) is then made by a child too (server/export_process.py).
    jobs_in_child: bool = False
    # E-mail (server/mail.py): smtp://[user:password@]host[:port] (STARTTLS required;
    # ?tls=none for a relay on this machine) or smtps:// (TLS from the start); empty: mail
    # is written to the log. The user and password may come from VISITSCORE_SMTP_USER and
    # VISITSCORE_SMTP_PASSWORD instead.
    smtp_url: str = ""
    mail_from: str = "Visitscore <visitscore@localhost>"
    # The address people reach this server at, for the links in mail.
    public_url: str = ""
    # The shopper app's files (overridable so tests can serve a changed version).
    pwa_dir: Path = field(default_factory=lambda: ASSETS / "pwa")
    service_worker: Path = field(default_factory=lambda: ASSETS / "service-worker.js")

    @property
    def db_path(self) -> Path:
        """The SQLite file (the data folder's, or the one a sqlite:/// URL names)."""
        if self.database_url.startswith("sqlite://"):
            return Path(self.database_url.removeprefix("sqlite://"))
        return self.data_dir / "visitscore.db"

    @property
    def on_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql:", "postgres:"))

    def worker_command(self) -> tuple[list[str], dict[str, str]]:
        """The command and environment of a ``visitscore worker --once`` on these
        settings (what a server starts to run its due jobs)."""
        return self.child_command("worker", "--once")

    def child_command(self, *args: str) -> tuple[list[str], dict[str, str]]:
        """``visitscore ARGS`` on these settings, run only on CPU time no request wants:
        Linux's idle scheduling class (``chrt --idle``), where a request that wakes up
        takes the CPU at once; ``nice -n 10`` where there is no ``chrt``. With ``nice``
        alone a request still waited behind the child's time slices: /healthz's p99
        during an export went from 0.5 ms to 1.5-4 ms, with the idle class 0.5-0.9 ms
        (benchmarks/exports.py). The price: on a machine kept fully busy by requests,
        exports and mail wait until it is not."""
        argv = [*_lowest_priority(), sys.executable, "-m", "server", *args]
        return argv, {**os.environ, **self.to_env()}

    @property
    def site_url(self) -> str:
        """Where links in mail point: the public address, else this server's own."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def open_photo_store(self) -> PhotoStore:
        """The photo store these settings name (raises ``StoreUnavailable``)."""
        return open_store(self.photo_store, self.data_dir)

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "secret.key"

    def secret_key(self) -> bytes:
        """The instance secret, made once and kept in the data directory."""
        env = os.environ.get("VISITSCORE_SECRET_KEY")
        if env:
            return env.encode()
        path = self.secret_path
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key

    def with_overrides(self, **changes: object) -> Settings:
        clean = {k: v for k, v in changes.items() if v is not None}
        for name in ("data_dir", "pwa_dir", "service_worker"):
            if name in clean:
                clean[name] = Path(str(clean[name]))
        return replace(self, **clean)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a worker process."""
        return {
            "VISITSCORE_DATA_DIR": str(self.data_dir),
            "VISITSCORE_PHOTO_STORE": self.photo_store,
            "VISITSCORE_DATABASE_URL": self.database_url,
            "VISITSCORE_REVIEW_REQUIRED": "1" if self.review_required else "0",
            "VISITSCORE_KEEP_ORIGINALS": "1" if self.keep_originals else "0",
            "VISITSCORE_MAX_PHOTO_BYTES": str(self.max_photo_bytes),
            "VISITSCORE_REPEAT_DAYS": str(self.repeat_days),
            "VISITSCORE_ACCESS_LOG": "1" if self.access_log else "0",
            "VISITSCORE_RUN_JOBS": "1" if self.run_jobs else "0",
            "VISITSCORE_JOBS_IN_CHILD": "1" if self.jobs_in_child else "0",
            "VISITSCORE_SMTP_URL": self.smtp_url,
            "VISITSCORE_MAIL_FROM": self.mail_from,
            "VISITSCORE_PUBLIC_URL": self.site_url,  # a worker has no host and port of its own
            "VISITSCORE_PWA_DIR": str(self.pwa_dir),
            "VISITSCORE_SERVICE_WORKER": str(self.service_worker),
        }


@cache
def _lowest_priority() -> list[str]:
    """The command prefix that runs a child in the idle scheduling class, tried once: where
    ``chrt`` is missing or refused (some containers forbid it), ``nice -n 10``."""
    idle = ["chrt", "--idle", "0"]
    try:
        tried = subprocess.run([*idle, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ["nice", "-n", "10"]
    return idle if tried.returncode == 0 else ["nice", "-n", "10"]


def from_env() -> Settings:
    return Settings(
        data_dir=Path(os.environ.get("VISITSCORE_DATA_DIR") or "data"),
        photo_store=os.environ.get("VISITSCORE_PHOTO_STORE") or "",
        database_url=os.environ.get("VISITSCORE_DATABASE_URL") or "",
        host=os.environ.get("VISITSCORE_HOST") or "127.0.0.1",
        port=_env_int("VISITSCORE_PORT", 8000),
        workers=_env_int("VISITSCORE_WORKERS", 1),
        access_log=_env_bool("VISITSCORE_ACCESS_LOG", False),
        run_jobs=_env_bool("VISITSCORE_RUN_JOBS", True),
        jobs_in_child=_env_bool("VISITSCORE_JOBS_IN_CHILD", True),
        review_required=_env_bool("VISITSCORE_REVIEW_REQUIRED", True),
        keep_originals=_env_bool("VISITSCORE_KEEP_ORIGINALS", False),
        max_photo_bytes=_env_int("VISITSCORE_MAX_PHOTO_BYTES", 15 * 1024 * 1024),
        repeat_days=_env_int("VISITSCORE_REPEAT_DAYS", 60),
        smtp_url=os.environ.get("VISITSCORE_SMTP_URL") or "",
        mail_from=os.environ.get("VISITSCORE_MAIL_FROM") or "Visitscore <visitscore@localhost>",
        public_url=os.environ.get("VISITSCORE_PUBLIC_URL") or "",
        pwa_dir=Path(os.environ.get("VISITSCORE_PWA_DIR") or ASSETS / "pwa"),
        service_worker=Path(
            os.environ.get("VISITSCORE_SERVICE_WORKER") or ASSETS / "service-worker.js"
        ),
    )
