"""The photo pipeline against generated images, good and bad."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from server import photos
from server.photo_store import FolderStore
from tests.photo_corpus import GPS_MARKER, corpus


def jpeg(
    size: tuple[int, int] = (4000, 3000),
    orientation: int | None = None,
    gps: bool = False,
    taken: str | None = None,
) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1] // 4))  # a mark top-left
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "S", 2: (6.0, 12.0, 0.0), 3: "E", 4: (106.0, 49.0, 0.0)}
    if taken:
        exif[0x8769] = {0x9003: taken, 0x9011: "+07:00"}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def test_rotated_portrait_is_turned_upright_and_downscaled() -> None:
    result = photos.process(io.BytesIO(jpeg(orientation=6)))
    assert (result.width, result.height) == (3000, 4000)
    with Image.open(io.BytesIO(result.display)) as display:
        assert display.size == (1200, 1600)
        # The blue mark, top-left of the sensor image, is top-right after rotating 90° cw.
        r, _g, b = display.convert("RGB").getpixel((1150, 50))  # type: ignore[misc]
        assert b > 150 and r < 100
    with Image.open(io.BytesIO(result.thumb)) as thumb:
        assert max(thumb.size) == 320


def test_gps_and_other_metadata_never_survive_but_capture_time_is_kept() -> None:
    result = photos.process(io.BytesIO(jpeg((800, 600), gps=True, taken="2026:11:20 10:05:00")))
    assert result.captured_at == "2026-11-20T10:05:00+07:00"
    for data in (result.display, result.thumb):
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif()
            assert "exif" not in image.info
        assert b"Exif" not in data


def test_png_with_transparency_is_laid_on_white() -> None:
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    result = photos.process(io.BytesIO(out.getvalue()))
    assert result.content_type == "image/png"
    with Image.open(io.BytesIO(result.display)) as display:
        assert display.convert("RGB").getpixel((10, 10)) == (255, 255, 255)


def test_webp_is_accepted() -> None:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 10)).save(out, "WEBP")
    assert photos.process(io.BytesIO(out.getvalue())).content_type == "image/webp"


def _animated_webp() -> bytes:
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _bomb_png() -> bytes:
    """A small PNG that claims 10 000 × 10 000 pixels (100 MP)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (10_000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    raw = zlib.compress(b"\x00" * 10_001 * 10, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "not_an_image"),
        (b"this is a text file named photo.jpg\n", "not_an_image"),
        (jpeg((800, 600))[:3000], "truncated"),
        (_bomb_png(), "too_many_pixels"),
        (_animated_webp(), "animated"),
        (_gif(), "not_an_image"),
    ],
    ids=["empty", "text", "truncated-jpeg", "bomb-png", "animated-webp", "gif"],
)
def test_bad_images_are_refused_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(photos.PhotoError) as caught:
        photos.process(io.BytesIO(data))
    assert caught.value.code == code


def test_store_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    data = jpeg((800, 600))
    key = hashlib.sha256(data).hexdigest()
    store = FolderStore(tmp_path)
    asyncio.run(photos.save(store, key, photos.process(io.BytesIO(data))))
    display = store.path(photos.blob_name(key, "display"))
    assert display.is_file() and store.path(photos.blob_name(key, "thumb")).is_file()
    assert display.parent == tmp_path / key[:2] / key[2:4]
    assert not list(tmp_path.rglob(".tmp-*"))
    with pytest.raises(ValueError):
        photos.blob_name("../../etc/passwd", "display")
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


CORPUS = dict(corpus())


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_hostile_or_odd_file_is_taken_or_refused_clearly(name: str) -> None:
    data = CORPUS[name]
    path = io.BytesIO(data)
    try:
        result = photos.process(path)
    except photos.PhotoError as refused:
        assert refused.code and refused.message
        return
    for derived in (result.display, result.thumb):
        with Image.open(io.BytesIO(derived)) as image:
            assert image.format == "JPEG" and min(image.size) >= 1
            assert max(image.size) <= photos.DISPLAY_SIZE
        assert GPS_MARKER not in derived


@pytest.mark.parametrize("name", list(CORPUS))
def test_a_kept_original_never_keeps_gps_or_trailing_data(name: str, tmp_path: Path) -> None:
    source = tmp_path / "upload"
    source.write_bytes(CORPUS[name])
    try:
        _result, original = photos.prepare(source, keep_original=True)
    except photos.PhotoError:
        return
    if original is None:  # could not be stripped losslessly: not kept at all
        return
    assert GPS_MARKER not in original
    with Image.open(io.BytesIO(original)) as image:
        image.load()
        exif = image.getexif()
        assert set(exif) <= {0x0112}, name
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "GPS"} & set(image.info), name
    assert b"<script" not in original and b"PK\x03\x04" not in original


def test_a_refused_photo_leaves_no_file_and_a_strip_is_checked_first(tmp_path: Path) -> None:
    """prepare() does every check before anything is written: with originals kept, a
    photo whose original cannot be stripped is stored without it, not half-stored."""
    source = tmp_path / "upload"
    source.write_bytes(jpeg((800, 600)) + b"\xff\xd9")
    processed, original = photos.prepare(source, keep_original=True)
    assert processed.display and original is not None and original.endswith(b"\xff\xd9")
    no_eoi = jpeg((800, 600))[:-2]  # Pillow decodes it; the lossless strip cannot end it
    source.write_bytes(no_eoi)
    try:
        processed, original = photos.prepare(source, keep_original=True)
    except photos.PhotoError:
        return
    assert original is None or original.endswith(b"\xff\xd9")


def test_the_next_photo_reuses_the_pixel_memory_the_last_one_freed() -> None:
    """Pillow returns freed pixel memory to the OS unless told to keep some: then every
    decode and resize first-touches fresh pages (a fifth of the pipeline's time)."""
    data = jpeg((2400, 1800), orientation=6)
    photos.process(io.BytesIO(data))
    Image.core.reset_stats()
    photos.process(io.BytesIO(data))
    stats = Image.core.get_stats()
    assert stats["reused_blocks"] > 0
    assert Image.core.get_blocks_max() == photos.PIXEL_BLOCKS_KEPT
    assert Image.core.get_block_size() == photos.PIXEL_BLOCK_BYTES
    # What is kept is bounded: at most 64 MB of freed blocks.
    assert stats["blocks_cached"] <= photos.PIXEL_BLOCKS_KEPT
    assert photos.PIXEL_BLOCKS_KEPT * photos.PIXEL_BLOCK_BYTES <= 64 * 1024 * 1024


def test_an_operators_pillow_memory_settings_win() -> None:
    code = (
        "from PIL import Image; import server.photos; "
        "print(Image.core.get_blocks_max(), Image.core.get_block_size())"
    )
    env = {"PILLOW_BLOCKS_MAX": "3", "PILLOW_BLOCK_SIZE": "1m", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["3", str(1024 * 1024)]
