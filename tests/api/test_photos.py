"""PUT /api/v1/visits/{id}/photos/{photo_id} and GET /api/v1/photos/{id}/{size}."""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.api.conftest import jpeg_bytes, manifest, new_id, open_assignments, visit_body
from tests.conftest import db_rows, files_in_the_making, login
from tests.photo_corpus import GPS_MARKER, corpus


def send_visit(
    client: TestClient, assignment: dict[str, Any], entries: list[dict[str, Any]]
) -> str:
    visit_id = new_id()
    response = client.put(f"/api/v1/visits/{visit_id}", json=visit_body(assignment, photos=entries))
    assert response.status_code == 201, response.text
    return visit_id


def put_photo(client: TestClient, visit_id: str, entry: dict[str, Any], data: bytes) -> Any:
    return client.put(f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=data)


def gps_jpeg(orientation: int = 1, size: tuple[int, int] = (1200, 900)) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "S", 2: (6.0, 12.0, 0.0), 3: "E", 4: (106.0, 49.0, 0.0)}
    exif[0x8769] = {0x9003: "2026:11:24 10:05:00", 0x9011: "+07:00"}
    exif[0x010F] = "PhoneMaker"
    return jpeg_bytes(size, exif=exif)


def test_upload_stores_once_and_completes_the_visit(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    first, second = jpeg_bytes(color=(200, 10, 10)), jpeg_bytes(color=(10, 10, 200))
    entries = [manifest(first), manifest(second, question=None)]
    visit_id = send_visit(shopper, assignment, entries)
    assert put_photo(shopper, visit_id, entries[0], first).status_code == 201
    status = shopper.get(f"/api/v1/visits/{visit_id}").json()
    assert (status["photos_present"], status["complete"], status["state"]) == (
        1,
        False,
        "incomplete",
    )
    assert status["photos_missing"] == [entries[1]["photo_id"]]
    assert put_photo(shopper, visit_id, entries[1], second).status_code == 201
    status = shopper.get(f"/api/v1/visits/{visit_id}").json()
    assert status["complete"] and status["state"] == "submitted"
    assert put_photo(shopper, visit_id, entries[1], second).status_code == 200
    assert db_rows(
        demo_dir,
        "SELECT count(*) FROM audit_log WHERE action = 'photo.received' AND entity_id = ?",
        (entries[1]["photo_id"],),
    ) == [(1,)]


def test_other_bytes_for_a_stored_photo_are_409(
    shopper: TestClient, assignment: dict[str, Any]
) -> None:
    data = jpeg_bytes()
    entry = manifest(data)
    visit_id = send_visit(shopper, assignment, [entry])
    put_photo(shopper, visit_id, entry, data)
    response = put_photo(shopper, visit_id, entry, jpeg_bytes(color=(1, 2, 3)))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_bytes_that_do_not_match_the_manifest_are_422(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    entry = manifest(jpeg_bytes())
    visit_id = send_visit(shopper, assignment, [entry])
    response = put_photo(shopper, visit_id, entry, jpeg_bytes(color=(9, 9, 9)))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "hash_mismatch"
    assert db_rows(
        demo_dir, "SELECT received_at FROM photos WHERE id = ?", (entry["photo_id"],)
    ) == [(None,)]


def test_a_photo_not_in_the_manifest_is_404(
    shopper: TestClient, assignment: dict[str, Any]
) -> None:
    visit_id = send_visit(shopper, assignment, [])
    response = put_photo(shopper, visit_id, manifest(b"x"), b"x")
    assert response.status_code == 404
    assert put_photo(shopper, new_id(), manifest(b"x"), b"x").status_code == 404


def test_over_the_limit_is_413_from_the_header_and_while_streaming(demo_dir: Path) -> None:
    settings = Settings(data_dir=demo_dir, max_photo_bytes=50_000)
    with TestClient(create_app(settings)) as client:
        login(client, "shopper@demo.test")
        data = jpeg_bytes((400, 300))
        entry = manifest(data)
        visit_id = send_visit(client, open_assignments(client)[0], [entry])
        big = b"\xff" * 60_000
        declared = put_photo(client, visit_id, entry, big)
        assert declared.status_code == 413

        def chunks() -> Any:  # no Content-Length: chunked transfer
            for _ in range(10):
                yield b"\xff" * 10_000

        streamed = client.put(
            f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=chunks()
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "too_large"
        assert not files_in_the_making(demo_dir)  # temp files are gone
        assert put_photo(client, visit_id, entry, data).status_code == 201


def _bomb_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (10_000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100_010, 9))
        + chunk(b"IEND", b"")
    )


def _huge_dimensions_jpeg() -> bytes:
    """A real JPEG whose header claims 9000 × 9000 (81 MP): refused before decoding."""
    data = bytearray(jpeg_bytes((64, 64)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (9000).to_bytes(2, "big") * 2
    return bytes(data)


BAD_IMAGES = {
    "zero bytes": (b"", "hash_mismatch"),
    "text named .jpg": (b"hello, this is not a photo\n" * 10, "not_an_image"),
    "truncated jpeg": (jpeg_bytes((1200, 900))[:4000], "truncated"),
    "bomb png": (_bomb_png(), "too_many_pixels"),
    "huge dimensions": (_huge_dimensions_jpeg(), "too_many_pixels"),
}


@pytest.mark.parametrize("name", list(BAD_IMAGES))
def test_bad_images_are_refused_with_a_clear_reason(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path, name: str
) -> None:
    data, code = BAD_IMAGES[name]
    entry = manifest(data or b"placeholder")
    visit_id = send_visit(shopper, assignment, [entry])
    response = put_photo(shopper, visit_id, entry, data)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert shopper.get(f"/api/v1/visits/{visit_id}").json()["complete"] is False
    # Good bytes are still welcome afterwards when the manifest matches them.


def test_rotated_portrait_and_transparent_png_are_accepted(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    portrait = gps_jpeg(orientation=6, size=(2000, 1500))
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(png, "PNG")
    entries = [manifest(portrait), manifest(png.getvalue(), content_type="image/png")]
    visit_id = send_visit(shopper, assignment, entries)
    assert put_photo(shopper, visit_id, entries[0], portrait).status_code == 201
    assert put_photo(shopper, visit_id, entries[1], png.getvalue()).status_code == 201
    ((width, height, captured),) = db_rows(
        demo_dir,
        "SELECT width, height, captured_at FROM photos WHERE id = ?",
        (entries[0]["photo_id"],),
    )
    assert (width, height) == (1500, 2000)
    assert captured == "2026-11-24T10:05:00+07:00"
    display = shopper.get(f"/api/v1/photos/{entries[0]['photo_id']}/display")
    with Image.open(io.BytesIO(display.content)) as image:
        assert image.size == (1200, 1600)


def test_gps_never_survives_into_a_served_photo(demo_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=demo_dir, keep_originals=True))) as client:
        login(client, "shopper@demo.test")
        data = gps_jpeg(orientation=6)
        entry = manifest(data)
        visit_id = send_visit(client, open_assignments(client)[0], [entry])
        assert put_photo(client, visit_id, entry, data).status_code == 201
        served = {
            size: client.get(f"/api/v1/photos/{entry['photo_id']}/{size}")
            for size in ("display", "thumb")
        }
        login(client, "reviewer@demo.test")
        served["original"] = client.get(f"/api/v1/photos/{entry['photo_id']}/original")
    for size, response in served.items():
        assert response.status_code == 200, size
        assert b"PhoneMaker" not in response.content, size
        with Image.open(io.BytesIO(response.content)) as image:
            exif = image.getexif()
            assert 0x8825 not in exif and not exif.get_ifd(0x8825), size
            assert 0x8769 not in exif, size
            if size == "original":
                assert exif.get(0x0112) == 6  # the original keeps only its orientation
                assert image.size == (1200, 900)
            else:
                assert not exif, size


def test_photos_are_served_only_to_those_who_may_see_the_visit(
    shopper: TestClient, assignment: dict[str, Any]
) -> None:
    data = jpeg_bytes()
    entry = manifest(data)
    visit_id = send_visit(shopper, assignment, [entry])
    put_photo(shopper, visit_id, entry, data)
    url = f"/api/v1/photos/{entry['photo_id']}/thumb"
    mine = shopper.get(url)
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/jpeg"
    assert "immutable" in mine.headers["cache-control"]
    assert "private" in mine.headers["cache-control"]
    cached = shopper.get(url, headers={"if-none-match": mine.headers["etag"]})
    assert cached.status_code == 304
    for email, status in (
        ("shopper2@demo.test", 404),
        ("owner@demo.test", 404),
        ("manager@demo.test", 404),
        ("reviewer@demo.test", 200),
    ):
        login(shopper, email)
        assert shopper.get(url).status_code == status, email
    assert shopper.get(f"/api/v1/photos/{entry['photo_id']}/original").status_code == 404
    shopper.delete("/api/v1/session")
    assert shopper.get(url).status_code == 401


def test_owners_see_photos_of_approved_visits_of_their_branches(
    demo_client: TestClient, demo_dir: Path
) -> None:
    _key, photo_id, owner = db_rows(
        demo_dir,
        "SELECT p.blob_key, p.id, u.email FROM photos p JOIN visit_photos vp ON"
        " vp.photo_id = p.id JOIN visits v ON v.id = vp.visit_id JOIN branch_owners o"
        " ON o.branch_id = v.branch_id JOIN users u ON u.id = o.user_id"
        " WHERE v.state = 'approved' LIMIT 1",
    )[0]
    login(demo_client, owner)
    assert demo_client.get(f"/api/v1/photos/{photo_id}/display").status_code == 200
    other = "owner2@demo.test" if owner == "owner@demo.test" else "owner@demo.test"
    login(demo_client, other)
    assert demo_client.get(f"/api/v1/photos/{photo_id}/display").status_code == 404


def test_the_hostile_corpus_over_http_gets_201_or_a_clear_4xx_and_leaves_no_orphans(
    demo_dir: Path,
) -> None:
    """With originals kept: every file answers 201 or a 4xx with a reason; what was
    refused left no file; no kept file carries GPS."""
    cases = [(name, data) for name, data in corpus() if data]
    settings = Settings(data_dir=demo_dir, keep_originals=True)
    accepted: set[str] = set()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        login(client, "shopper@demo.test")
        for start in range(0, len(cases), 60):
            batch = cases[start : start + 60]
            entries = [manifest(data) for _name, data in batch]
            visit_id = send_visit(client, open_assignments(client)[0], entries)
            for (name, data), entry in zip(batch, entries, strict=True):
                response = put_photo(client, visit_id, entry, data)
                assert response.status_code in (201, 200, 422), (name, response.text[:200])
                if response.status_code == 422:
                    assert response.json()["error"]["message"], name
                else:
                    accepted.add(entry["sha256"])
    assert len(accepted) > 20
    stored = {p.name.split("-")[0] for p in (demo_dir / "photos").rglob("*") if p.is_file()}
    demo_keys = {r[0] for r in db_rows(demo_dir, "SELECT sha256 FROM photos")} - accepted
    assert stored - demo_keys == accepted  # nothing refused left a file behind
    for path in (demo_dir / "photos").rglob("*-original.*"):
        assert GPS_MARKER not in path.read_bytes(), path
    assert not files_in_the_making(demo_dir)
    assert not list((demo_dir / "photos").rglob(".tmp-*"))
