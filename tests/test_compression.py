"""Text responses are compressed when the client asks (brotli first, else gzip), streamed
exports too; photos never; Vary and ETags stay right, so caches and 304s keep working."""

from __future__ import annotations

import brotli
import pytest
from starlette.testclient import TestClient

from server.compression import chosen_encoding
from tests.conftest import login

TEXT_PAGES = [
    ("anonymous", "/login"),
    ("anonymous", "/app/"),
    ("anonymous", "/app/app.js"),
    ("anonymous", "/app/app.css"),
    ("anonymous", "/app/strings/fr.json"),
    ("anonymous", "/service-worker.js"),
    ("anonymous", "/api/v1/openapi.json"),
    ("manager@demo.test", "/chains/1/compare"),
    ("manager@demo.test", "/chains/1/compare.json"),
    ("manager@demo.test", "/chains/1/visits.csv"),
    ("manager@demo.test", "/chains/1/visits.json"),
    ("admin@demo.test", "/admin/questionnaires/default"),
]


@pytest.mark.parametrize(("who", "path"), TEXT_PAGES)
def test_text_is_compressed_and_reads_the_same(demo_client: TestClient, who: str, path: str):
    if who != "anonymous":
        login(demo_client, who)
    plain = demo_client.get(path, headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["vary"]  # a shared cache keeps them apart
    for asked, encoding in (("gzip, deflate, br", "br"), ("gzip", "gzip")):
        packed = demo_client.get(path, headers={"accept-encoding": asked})
        assert packed.headers["content-encoding"] == encoding, path
        assert "Accept-Encoding" in packed.headers["vary"]
        assert packed.content == plain.content  # decoded by the client: the same bytes
        if "content-length" in packed.headers:  # not streamed
            assert int(packed.headers["content-length"]) < len(plain.content) / 2


def test_streamed_exports_arrive_compressed_chunk_by_chunk(demo_client: TestClient) -> None:
    login(demo_client, "manager@demo.test")
    with demo_client.stream(
        "GET", "/chains/1/visits.csv", headers={"accept-encoding": "br"}
    ) as answer:
        assert answer.headers["content-encoding"] == "br"
        assert "content-length" not in answer.headers
        raw = b"".join(answer.iter_raw())
    text = brotli.decompress(raw).decode()
    assert text.count("\n") > 200  # every approved demo visit, one per line
    assert len(raw) < len(text) / 3


def test_photos_are_never_recompressed(demo_client: TestClient, demo_dir) -> None:
    from tests.conftest import db_rows

    (photo,) = db_rows(demo_dir, "SELECT id FROM photos WHERE received_at IS NOT NULL LIMIT 1")[0]
    login(demo_client, "manager@demo.test")
    answer = demo_client.get(f"/api/v1/photos/{photo}/display", headers={"accept-encoding": "br"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert "content-encoding" not in answer.headers


def test_a_compressed_copy_revalidates_with_its_own_etag(demo_client: TestClient) -> None:
    first = demo_client.get("/app/app.js", headers={"accept-encoding": "br"})
    etag = first.headers["etag"]
    assert etag.endswith('-br"')  # another entity than the plain file
    again = demo_client.get("/app/app.js", headers={"accept-encoding": "br", "if-none-match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    # A client that now asks for gzip gets the gzip entity, not a 304 for brotli bytes.
    other = demo_client.get(
        "/app/app.js", headers={"accept-encoding": "gzip", "if-none-match": etag}
    )
    assert other.status_code == 200 and other.headers["content-encoding"] == "gzip"


def test_small_bodies_are_sent_as_they_are(demo_client: TestClient) -> None:
    answer = demo_client.get("/healthz", headers={"accept-encoding": "br"})
    assert answer.status_code == 200 and "content-encoding" not in answer.headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("identity", None),
        ("", None),
        ("*", "br"),
        ("gzip;q=0, br;q=0", None),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_the_encoding_follows_what_the_client_accepts(header: str, expected: str | None):
    assert chosen_encoding(header) == expected
