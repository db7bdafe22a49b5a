"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, `initdb` in a
new folder of /tmp (as the `postgres` user when the tests run as root, which PostgreSQL
requires; pytest's own temp folders are closed to other users), listening on a Unix
socket in that folder and on a free loopback port, with durability off (it is thrown
away). Stopped and removed on the way out."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port


def bin_dir() -> Path:
    """The newest installed PostgreSQL's server programs (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL's server is missing: make test installs it (postgresql)")
    return Path(initdb).resolve().parent


def _version(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Cluster:
    folder: Path
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; answers its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_owner(owner: pwd.struct_passwd | None) -> dict[str, object]:
    """Keyword arguments that run a subprocess as the cluster's owner."""
    if owner is None:
        return {}
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}


def _run(command: list[str], env: dict[str, str], owner: pwd.struct_passwd | None) -> None:
    done = subprocess.run(
        command,
        capture_output=True,
        env=env,
        cwd="/",
        **_as_owner(owner),  # type: ignore[arg-type]
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.decode()[-2000:]}")


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    programs = bin_dir()
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="visitscore-pg-"))
    data = folder / "data"
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    user = owner.pw_name if owner is not None else pwd.getpwuid(os.geteuid()).pw_name
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    _run(
        [
            str(programs / "initdb"),
            "-D",
            str(data),
            "-U",
            user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        env,
        owner,
    )
    port = free_port()
    settings = [
        "listen_addresses='127.0.0.1'",
        f"port={port}",
        f"unix_socket_directories='{folder}'",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=200",
        "shared_buffers=128MB",
        "logging_collector=off",
        "log_min_messages=warning",
        "timezone='UTC'",
    ]
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n".join(settings) + "\n")
    log = folder / "server.log"
    _run(
        [str(programs / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"],
        env,
        owner,
    )
    try:
        cluster = Cluster(folder, port, user)
        _wait_until_ready(cluster)
        yield cluster
    finally:
        subprocess.run(
            [str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            env=env,
            **_as_owner(owner),  # type: ignore[arg-type]
        )
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(cluster: Cluster) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(cluster.url(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
