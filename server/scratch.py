"""Each worker's own folder for files in the making: uploads being received and photo
files before they are renamed into place.

Several workers share one data directory, so a worker starting up must never delete
another one's upload in progress. Each worker holds an exclusive ``flock`` on a lock
file inside its folder for as long as it lives; the kernel releases it when the process
ends, however it ends (even ``kill -9``). A folder whose lock can be taken therefore
belongs to a dead worker, and only such folders are removed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

log = logging.getLogger("visitscore")

PREFIX = "w-"
LOCK = ".lock"
LEGACY_AGE_SECONDS = 24 * 3600
"""Loose ``upload-*`` files from versions before per-worker folders: removed once old."""


class Scratch:
    """This worker's folder under ``parent``; :meth:`open` sweeps dead workers' folders."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self.path: Path | None = None
        self._lock_fd: int | None = None

    def open(self) -> Path:
        self.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        sweep(self.parent)
        name = uuid.uuid4().hex
        making = self.parent / f"new-{name}"
        making.mkdir(mode=0o700)
        fd = os.open(making / LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Only folders named w-* are ever swept, and this one is locked before it is.
        path = self.parent / f"{PREFIX}{name}"
        making.rename(path)
        self.path, self._lock_fd = path, fd
        return path

    def close(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
        self.path, self._lock_fd = None, None


def _owner_alive(folder: Path) -> bool:
    try:
        fd = os.open(folder / LOCK, os.O_WRONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock we may have taken
    return False


def sweep(parent: Path) -> list[Path]:
    """Remove the folders of workers that are gone; answers what was removed."""
    removed: list[Path] = []
    for folder in parent.glob(f"{PREFIX}*"):
        if folder.is_dir() and not _owner_alive(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    cutoff = time.time() - LEGACY_AGE_SECONDS
    for stale in [*parent.glob("upload-*"), *parent.glob("new-*")]:
        try:
            if stale.stat().st_mtime < cutoff:
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink(missing_ok=True)
                removed.append(stale)
        except FileNotFoundError:
            pass
    if removed:
        log.info("removed %d abandoned upload folder(s)", len(removed))
    return removed
