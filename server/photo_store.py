"""Where photo files live: one interface, a folder or an S3-compatible bucket.

Everything that reads or writes photo files (the API, the demo, ``backup``,
``move-data``, tests) goes through a :class:`PhotoStore`; nothing else knows where the
bytes are. Files are named by :func:`server.photos.blob_name` (content-addressed: the
same name always holds the same bytes), written whole or not at all and never changed.

- :class:`FolderStore` (the default): ``<data-dir>/photos``; each file written to a temp
  file, fsynced, renamed and its folder fsynced, so an acknowledged photo survives a
  power cut.
- :class:`S3Store`: ``s3://bucket/prefix`` on any S3-compatible service (tested against
  SeaweedFS). Objects are private; the app streams them to browsers that may see them
  (a redirect to a signed URL would cross the Content-Security-Policy's ``img-src
  'self'`` and the service worker's same-origin cache).

Choose with ``--photo-store`` / ``VISITSCORE_PHOTO_STORE``; the S3 endpoint comes from
``VISITSCORE_S3_ENDPOINT`` (empty: AWS itself), credentials and region from the standard
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_REGION`` (or
``AWS_DEFAULT_REGION``; default ``us-east-1``).
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import FileResponse, Response, StreamingResponse

CHUNK = 256 * 1024
WHOLE = 2 * 1024 * 1024
"""Objects up to this size are read whole and sent in one piece (one thread hop); larger
ones (kept originals) are streamed in ``CHUNK``s."""
_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}-(display|thumb|original)\.(jpg|png|webp)")
_EXPORT = re.compile(r"exports/[0-9]{1,18}-[0-9]{1,4}\.(csv|json|xlsx|zip)")
"""Export files made by background jobs: ``exports/<job id>-<attempt>.<format>``, kept for
a while and removed when the job expires; not photos (``names``, backup and move-data
leave them out)."""


class BlobMissing(Exception):
    """The store has no file of that name."""


class StoreUnavailable(Exception):
    """The store is misconfigured or cannot be reached; the message is one line for an
    operator."""


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) and not _EXPORT.fullmatch(name):
        raise ValueError(f"not a photo or export file name: {name!r}")
    return name


def export_name(job_id: int, attempt: int, extension: str) -> str:
    return _check_name(f"exports/{job_id}-{attempt}.{extension}")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(folder: Path) -> None:
    """``mkdir -p`` whose new entries survive a power cut: each new folder's parent is
    synced."""
    if folder.is_dir():
        return
    _make_dirs(folder.parent)
    try:
        folder.mkdir(mode=0o700)  # photos are for the server's user only (files: 0600)
    except FileExistsError:
        return
    _fsync_dir(folder.parent)


def write_atomic(path: Path, data: bytes, scratch: Path | None = None) -> None:
    """Temp file, fsync, rename, fsync the folder: all or nothing, durable once it
    returns. The temp file is made in ``scratch`` (this worker's own folder, removed
    with everything in it if the worker dies) when it is on the same file system."""
    _make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=scratch or path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            if scratch is None or exc.errno != errno.EXDEV:
                raise
            Path(tmp).unlink(missing_ok=True)  # another file system: write in place
            write_atomic(path, data)
            return
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class PhotoStore(ABC):
    """Put, get, has, delete, serve, list: the whole of what the app does with photo
    files. Every method is a coroutine; blocking work runs on threads."""

    description: str
    """Where the files are, for messages ("folder /srv/data/photos", "s3://b/p")."""

    @abstractmethod
    async def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``name``, durably; nothing visible until it is whole.
        Idempotent: a name already stored holds the same bytes and is left as it is."""

    @abstractmethod
    async def put_file(self, name: str, source: Path, content_type: str) -> None:
        """Store a large file made on this machine (an export) under ``name``, whole or not
        at all, replacing what the name held. ``source`` is consumed."""

    @abstractmethod
    async def get(self, name: str) -> bytes:
        """The file's bytes; :class:`BlobMissing` if there is none."""

    @abstractmethod
    async def has(self, name: str) -> bool: ...

    @abstractmethod
    async def delete(self, name: str) -> None:
        """Remove the file; no error when there is none."""

    @abstractmethod
    async def serve(self, name: str, content_type: str, headers: Mapping[str, str]) -> Response:
        """A response that sends the file; :class:`BlobMissing` if there is none."""

    @abstractmethod
    def names(self) -> AsyncIterator[str]:
        """Every photo file's name, in name order (backup and move-data)."""

    @abstractmethod
    async def check(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store can be used now."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""


class FolderStore(PhotoStore):
    def __init__(self, root: Path, scratch: Path | None = None) -> None:
        self.root = root
        self.scratch = scratch  # this worker's folder for files in the making
        self.description = f"folder {root}"

    def path(self, name: str) -> Path:
        return self.root / _check_name(name)

    def _put(self, name: str, data: bytes) -> None:
        path = self.path(name)
        if not path.exists():
            write_atomic(path, data, self.scratch)

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, name, data)

    def _put_file(self, name: str, source: Path) -> None:
        path = self.path(name)
        _make_dirs(path.parent)
        with source.open("rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.replace(source, path)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out, source.open("rb") as fh:
                    shutil.copyfileobj(fh, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            source.unlink()
        _fsync_dir(path.parent)

    async def put_file(self, name: str, source: Path, content_type: str) -> None:
        await asyncio.to_thread(self._put_file, name, source)

    async def get(self, name: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(name).read_bytes)
        except FileNotFoundError as exc:
            raise BlobMissing(name) from exc

    async def has(self, name: str) -> bool:
        return await asyncio.to_thread(self.path(name).is_file)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self.path(name).unlink, True)

    async def serve(self, name: str, content_type: str, headers: Mapping[str, str]) -> Response:
        path = self.path(name)
        if not await asyncio.to_thread(path.is_file):
            raise BlobMissing(name)
        return FileResponse(path, media_type=content_type, headers=dict(headers))

    def _names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = (p.relative_to(self.root).as_posix() for p in self.root.glob("*/*/*"))
        return sorted(n for n in found if _NAME.fullmatch(n))

    async def names(self) -> AsyncIterator[str]:  # type: ignore[override]
        for name in await asyncio.to_thread(self._names):
            yield name

    async def check(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise StoreUnavailable(f"photo folder {self.root} is not a folder")

    async def close(self) -> None:
        return None


class S3Store(PhotoStore):
    """A bucket (and a prefix in it) on an S3-compatible service, through boto3; its
    blocking calls run on threads (boto3's clients are thread-safe)."""

    def __init__(
        self, bucket: str, prefix: str = "", endpoint: str | None = None, client: Any = None
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        self.description = f"s3://{bucket}/{self.prefix}" + (f" at {endpoint}" if endpoint else "")
        self._client = client or _s3_client(endpoint)

    def _key(self, name: str) -> str:
        return self.prefix + _check_name(name)

    def _missing(self, exc: Exception) -> bool:
        from botocore.exceptions import ClientError

        return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in {
            "404",
            "NoSuchKey",
            "NotFound",
        }

    def _has(self, name: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:
            if self._missing(exc):
                return False
            raise
        return True

    def _put(self, name: str, data: bytes, content_type: str) -> None:
        # Content-addressed: an object already there holds these bytes. Not writing it
        # again keeps a versioned bucket from growing a version per retry.
        if self._has(name):
            return
        # A single PUT is atomic in S3: the object appears whole or not at all. The MD5
        # lets the service refuse bytes damaged on the way.
        import base64
        import hashlib

        self._client.put_object(
            Bucket=self.bucket,
            Key=self._key(name),
            Body=data,
            ContentType=content_type,
            ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
        )

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, name, data, content_type)

    def _put_file(self, name: str, source: Path, content_type: str) -> None:
        # boto3's managed upload: one PUT for small files, a multipart upload (parts sent
        # in parallel, each checked) for large ones; the object appears when it is whole.
        try:
            self._client.upload_file(
                str(source), self.bucket, self._key(name), ExtraArgs={"ContentType": content_type}
            )
        finally:
            source.unlink(missing_ok=True)

    async def put_file(self, name: str, source: Path, content_type: str) -> None:
        await asyncio.to_thread(self._put_file, name, source, content_type)

    def _get_object(self, name: str) -> Any:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:
            if self._missing(exc):
                raise BlobMissing(name) from exc
            raise

    def _get(self, name: str) -> bytes:
        with self._get_object(name)["Body"] as body:
            return body.read()  # type: ignore[no-any-return]

    async def get(self, name: str) -> bytes:
        return await asyncio.to_thread(self._get, name)

    async def has(self, name: str) -> bool:
        return await asyncio.to_thread(self._has, name)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self._key(name))

    def _open(self, name: str) -> tuple[Any, bytes | None]:
        """The object's answer and, when it is small (display copies and thumbnails),
        its bytes read in the same thread hop."""
        answer = self._get_object(name)
        if answer["ContentLength"] <= WHOLE:
            with answer["Body"] as body:
                return answer, body.read()
        return answer, None

    async def serve(self, name: str, content_type: str, headers: Mapping[str, str]) -> Response:
        answer, data = await asyncio.to_thread(self._open, name)
        if data is not None:
            return Response(data, media_type=content_type, headers=dict(headers))
        body = answer["Body"]

        def chunks() -> Iterator[bytes]:  # Starlette reads it on a thread
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        sent = {**headers, "content-length": str(answer["ContentLength"])}
        return StreamingResponse(chunks(), media_type=content_type, headers=sent)

    def _names(self) -> list[str]:
        found: list[str] = []
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if _NAME.fullmatch(name):
                    found.append(name)
        return sorted(found)

    async def names(self) -> AsyncIterator[str]:  # type: ignore[override]
        for name in await asyncio.to_thread(self._names):
            yield name

    async def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            why = {
                "404": "does not exist",
                "NoSuchBucket": "does not exist",
                "403": "refuses these credentials",
            }.get(code, f"answered {code or exc}")
            raise StoreUnavailable(f"photo store {self.description}: the bucket {why}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"photo store {self.description}: {exc}") from exc

    async def close(self) -> None:
        self._client.close()


def _s3_client(endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = Config(
        region_name=region,
        # Self-hosted services (SeaweedFS, Garage, Ceph) name buckets in the path.
        s3={"addressing_style": "path" if endpoint else "auto"},
        connect_timeout=5,
        read_timeout=30,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=20,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint or None, config=config)


def open_store(spec: str, data_dir: Path) -> PhotoStore:
    """The store a ``--photo-store`` value names: empty for ``<data-dir>/photos``, a
    folder path, or ``s3://bucket/prefix``. Raises :class:`StoreUnavailable` with one
    line for a value it cannot use."""
    spec = spec.strip()
    if not spec:
        return FolderStore(data_dir / "photos")
    if "://" not in spec:
        return FolderStore(Path(spec))
    parts = urlsplit(spec)
    if parts.scheme == "file":
        return FolderStore(Path(parts.path))
    if parts.scheme != "s3":
        raise StoreUnavailable(
            f"photo store {spec!r}: give a folder or s3://bucket/prefix, not {parts.scheme}://"
        )
    bucket = parts.netloc
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
        raise StoreUnavailable(f"photo store {spec!r}: {bucket!r} is not an S3 bucket name")
    endpoint = os.environ.get("VISITSCORE_S3_ENDPOINT", "").strip() or None
    if endpoint and urlsplit(endpoint).scheme not in {"http", "https"}:
        raise StoreUnavailable(
            f"VISITSCORE_S3_ENDPOINT {endpoint!r}: give an http:// or https:// address"
        )
    return S3Store(bucket, parts.path, endpoint)
