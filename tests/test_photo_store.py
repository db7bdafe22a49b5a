"""The photo store: the same behaviour from the data folder and from a real S3 endpoint
(SeaweedFS on 127.0.0.1), through the interface, the API and the CLI."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from server import photo_store, photos
from server.app import create_app
from server.cli import main
from server.photo_store import BlobMissing, FolderStore, PhotoStore, StoreUnavailable, open_store
from server.settings import Settings
from tests.api.conftest import jpeg_bytes, manifest, new_id, open_assignments, visit_body
from tests.conftest import db_rows, login


@pytest.fixture(params=["folder", "s3"])
def store(request: Any, tmp_path: Path) -> Iterator[PhotoStore]:
    if request.param == "folder":
        made: PhotoStore = FolderStore(tmp_path / "photos")
    else:
        bucket = request.getfixturevalue("s3_bucket")
        made = open_store(f"s3://{bucket}/some/prefix", tmp_path)
    yield made
    asyncio.run(made.close())


def _photo() -> tuple[str, photos.ProcessedPhoto]:
    data = jpeg_bytes((900, 600), color=(30, 160, 90))
    return hashlib.sha256(data).hexdigest(), photos.process(io.BytesIO(data))


def test_put_get_has_serve_list_delete(store: PhotoStore) -> None:
    key, processed = _photo()
    display, thumb = photos.blob_name(key, "display"), photos.blob_name(key, "thumb")

    async def scenario() -> None:
        await store.check()
        assert not await store.has(display)
        with pytest.raises(BlobMissing):
            await store.get(display)
        with pytest.raises(BlobMissing):
            await store.serve(display, "image/jpeg", {})
        await photos.save(store, key, processed)
        await photos.save(store, key, processed)  # again: idempotent
        assert await store.has(display) and await store.has(thumb)
        assert await store.get(display) == processed.display
        assert await store.get(thumb) == processed.thumb
        assert [name async for name in store.names()] == sorted([display, thumb])
        await store.delete(thumb)
        await store.delete(thumb)  # gone already: no error
        assert [name async for name in store.names()] == [display]
        with pytest.raises(ValueError):
            await store.get("../../etc/passwd")

    asyncio.run(scenario())


def test_bad_store_values_are_refused_in_one_line(tmp_path: Path) -> None:
    for value, words in [
        ("ftp://host/x", "not ftp://"),
        ("s3://Not_A_Bucket/x", "is not an S3 bucket name"),
    ]:
        with pytest.raises(StoreUnavailable) as caught:
            open_store(value, tmp_path)
        assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_bucket_or_unreachable_endpoint_stops_the_cli_in_one_line(
    s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    result = runner.invoke(main, ["serve", *data, "--photo-store", "s3://no-such-bucket-here/p"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: photo store s3://no-such-bucket-here/p/ at "
        f"{__import__('os').environ['VISITSCORE_S3_ENDPOINT']}: the bucket does not exist"
    ]
    monkeypatch.setenv("VISITSCORE_S3_ENDPOINT", "http://127.0.0.1:9")  # nothing listens
    result = runner.invoke(main, ["demo", *data, "--photo-store", f"s3://{s3_bucket}"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Could not connect" in lines[0], result.output
    assert not (tmp_path / "data" / "visitscore.db").exists()
    monkeypatch.setenv("VISITSCORE_S3_ENDPOINT", "localhost:9000")
    result = runner.invoke(main, ["serve", *data, "--photo-store", f"s3://{s3_bucket}"])
    assert result.exit_code == 1 and "http:// or https://" in result.output


def test_photos_go_to_the_bucket_and_come_back_through_the_api(
    s3_bucket: str, s3_endpoint: Any, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=demo_dir, photo_store=f"s3://{s3_bucket}/visitscore")
    data = jpeg_bytes((1200, 900), color=(220, 40, 40))
    key = hashlib.sha256(data).hexdigest()
    with TestClient(create_app(settings)) as client:
        login(client, "shopper@demo.test")
        assignment = open_assignments(client)[0]
        entry = manifest(data)
        visit_id = new_id()
        body = visit_body(assignment, photos=[entry])
        assert client.put(f"/api/v1/visits/{visit_id}", json=body).status_code == 201
        url = f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}"
        assert client.put(url, content=data).status_code == 201
        assert client.put(url, content=data).status_code == 200
        served = client.get(f"/api/v1/photos/{entry['photo_id']}/display")
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert int(served.headers["content-length"]) == len(served.content)
        again = client.get(
            f"/api/v1/photos/{entry['photo_id']}/display",
            headers={"if-none-match": served.headers["etag"]},
        )
        assert again.status_code == 304
        # Objects above the size read whole (kept originals) are streamed in chunks.
        monkeypatch.setattr(photo_store, "WHOLE", 1000)
        monkeypatch.setattr(photo_store, "CHUNK", 4096)
        streamed = client.get(f"/api/v1/photos/{entry['photo_id']}/display")
        assert streamed.status_code == 200 and streamed.content == served.content
        assert int(streamed.headers["content-length"]) == len(served.content) > 4096
    listed = s3_endpoint.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert sorted(item["Key"] for item in listed) == [
        f"visitscore/{photos.blob_name(key, 'display')}",
        f"visitscore/{photos.blob_name(key, 'thumb')}",
    ]
    stored = s3_endpoint.client().get_object(
        Bucket=s3_bucket, Key=f"visitscore/{photos.blob_name(key, 'display')}"
    )
    assert stored["Body"].read() == served.content
    assert not list((demo_dir / "photos").rglob(f"{key}*"))  # nothing in the folder
    assert db_rows(demo_dir, "SELECT blob_key FROM photos WHERE id = ?", (entry["photo_id"],)) == [
        (key,)
    ]


def test_a_photo_missing_from_the_store_is_a_404_not_a_crash(
    s3_bucket: str, demo_dir: Path
) -> None:
    """The demo's photos are in the data folder, not in this bucket."""
    settings = Settings(data_dir=demo_dir, photo_store=f"s3://{s3_bucket}")
    (photo_id,) = db_rows(demo_dir, "SELECT id FROM photos WHERE received_at IS NOT NULL LIMIT 1")[
        0
    ]
    with TestClient(create_app(settings)) as client:
        login(client, "admin@demo.test")
        answer = client.get(f"/api/v1/photos/{photo_id}/thumb")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_demo_and_backup_with_the_photos_in_a_bucket(
    s3_bucket: str, s3_endpoint: Any, tmp_path: Path
) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    store = ["--data-dir", str(data), "--photo-store", f"s3://{s3_bucket}/demo"]
    made = runner.invoke(main, ["demo", *store])
    assert made.exit_code == 0, made.output
    s3 = s3_endpoint.client()
    in_bucket = s3.list_objects_v2(Bucket=s3_bucket, Prefix="demo/")
    photo_count = len(db_rows(data, "SELECT id FROM photos WHERE received_at IS NOT NULL"))
    assert in_bucket["KeyCount"] == 2 * photo_count > 0
    assert not (data / "photos").exists()
    copied = runner.invoke(main, ["backup", str(tmp_path / "copy"), *store])
    assert copied.exit_code == 0, copied.output
    assert f"{2 * photo_count} photo files" in copied.output
    for item in in_bucket["Contents"]:
        name = item["Key"].removeprefix("demo/")
        local = tmp_path / "copy" / "photos" / name
        body = s3.get_object(Bucket=s3_bucket, Key=item["Key"])["Body"]
        assert local.read_bytes() == body.read()


def test_export_files_are_stored_whole_replaced_and_left_out_of_photo_listings(
    store: PhotoStore, tmp_path: Path
) -> None:
    """Exports are large files made on the server: stored from a file (on S3 a multipart
    upload above 8 MB), served streamed, never listed with the photos (backup and
    move-data copy photos only)."""
    name = photo_store.export_name(41, 1, "csv")
    big = b"visit,score\n" + b"".join(b"%08d,87.5\n" % i for i in range(1_000_000))
    assert len(big) > 8 * 1024 * 1024

    async def scenario() -> None:
        source = tmp_path / "export.csv"
        source.write_bytes(big)
        await store.put_file(name, source, "text/csv")
        assert not source.exists()  # consumed
        assert await store.has(name)
        assert await store.get(name) == big
        response = await store.serve(name, "text/csv", {"x-test": "1"})
        assert response.headers["x-test"] == "1"
        assert [n async for n in store.names()] == []
        source.write_bytes(b"replaced\n")
        await store.put_file(name, source, "text/csv")
        assert await store.get(name) == b"replaced\n"
        await store.delete(name)
        assert not await store.has(name)
        for bad in ("exports/../x.csv", "exports/1-1.exe", "exports/x.csv"):
            with pytest.raises(ValueError):
                await store.has(bad)

    asyncio.run(scenario())


def test_an_export_made_by_a_separate_worker_lands_in_the_bucket(
    s3_bucket: str, s3_endpoint: Any, demo_dir: Path
) -> None:
    """`serve --no-jobs` plus `visitscore worker`: the server queues, the worker (another
    process's code path, here the CLI) makes the file in the bucket, the server serves it."""
    spec = f"s3://{s3_bucket}/vs"
    settings = Settings(data_dir=demo_dir, photo_store=spec, run_jobs=False)
    with TestClient(create_app(settings)) as client:
        login(client, "manager@demo.test")
        page = client.get("/chains/1/compare")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        asked = client.post(
            "/chains/1/exports", data={"csrf_token": token, "format": "csv"}, follow_redirects=False
        )
        job_url = asked.headers["location"]
        assert client.get(job_url + ".json").json()["state"] == "queued"
        ran = CliRunner().invoke(
            main, ["worker", "--once", "--data-dir", str(demo_dir), "--photo-store", spec]
        )
        assert ran.exit_code == 0, ran.output
        assert "Ran 1 job." in ran.output
        done = client.get(job_url + ".json").json()
        assert done["state"] == "done"
        body = client.get(done["file"]).content.decode("utf-8-sig")
        assert body == client.get("/chains/1/visits.csv").content.decode("utf-8-sig")
        listed = CliRunner().invoke(main, ["jobs", "--data-dir", str(demo_dir)])
        assert listed.exit_code == 0 and "visits_export  done" in listed.output
    keys = [o["Key"] for o in s3_endpoint.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == [f"vs/exports/{done['id']}-1.csv"]
