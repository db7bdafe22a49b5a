"""Hostile and odd image files, made by the tests themselves: truncations at many
offsets, chunk bombs, extreme sizes and aspect ratios, animations, CMYK, 16-bit,
polyglots and hostile EXIF. Each is named; the pipeline must take it or refuse it
clearly, never crash."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

from PIL import Image

GPS_MARKER = b"GPS-MUST-NOT-SURVIVE"


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x8825] = {
        1: "S",
        2: (6.0, 12.0, 0.0),
        3: "E",
        4: (106.0, 49.0, 0.0),
        0x1B: GPS_MARKER.decode(),
    }
    exif[0x010E] = GPS_MARKER.decode()  # ImageDescription
    return exif


def photo(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), **options: object) -> bytes:
    image = Image.new("RGB", size, (180, 40, 40))
    image.paste((30, 30, 200), (0, 0, size[0] // 2 or 1, size[1] // 4 or 1))
    return _save(image, fmt, **options)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """A small PNG with one extra chunk before its image data."""
    base = photo("PNG", (64, 48))
    ihdr_end = 8 + 25
    return base[:ihdr_end] + png_chunk(kind, payload) + base[ihdr_end:]


def _bomb(size: int = 64 * 1024 * 1024) -> bytes:
    return zlib.compress(b"\0" * size, 9)


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _exif_jpeg(exif: bytes) -> bytes:
    """A JPEG whose APP1 segment is exactly ``exif`` (after the Exif header)."""
    base = photo("JPEG", (64, 48))
    payload = b"Exif\0\0" + exif
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return base[:2] + app1 + base[2:]


def hostile_exif() -> Iterator[tuple[str, bytes]]:
    yield "exif-orientation-9", _exif_jpeg(_tiff([(0x0112, 3, 1, 9)]))
    yield "exif-orientation-0", _exif_jpeg(_tiff([(0x0112, 3, 1, 0)]))
    yield "exif-orientation-ascii", _exif_jpeg(_tiff([(0x0112, 2, 4, 0x41414100)]))
    yield "exif-huge-count", _exif_jpeg(_tiff([(0x010E, 2, 0x7FFFFFFF, 8)]))
    yield "exif-offset-past-end", _exif_jpeg(_tiff([(0x8769, 4, 1, 0x7FFFFFF0)]))
    yield "exif-ifd-loop", _exif_jpeg(_tiff([(0x8769, 4, 1, 8)]))
    yield "exif-truncated-header", _exif_jpeg(b"MM\0*\0\0\0")
    yield "exif-not-tiff", _exif_jpeg(b"\x00" * 64)
    yield "exif-date-garbage", _exif_jpeg(_tiff([(0x0132, 2, 4, 0x39393900)]))


def _tiff(entries: list[tuple[int, int, int, int]]) -> bytes:
    """A big-endian TIFF header and one IFD of (tag, type, count, value) entries."""
    out = b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", len(entries))
    for tag, kind, count, value in entries:
        out += struct.pack(">HHII", tag, kind, count, value)
    return out + struct.pack(">I", 0)


def truncations(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    for fraction in (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        cut = int(len(data) * fraction)
        yield f"{name}-cut-{cut}", data[:cut]
    for cut in (2, 8, 16, 33, 40, len(data) - 12, len(data) - 2, len(data) - 1):
        yield f"{name}-cut-{cut}", data[:cut]


def corpus() -> Iterator[tuple[str, bytes]]:
    """Every case, as (name, bytes)."""
    jpeg, png, webp = photo("JPEG"), photo("PNG"), photo("WEBP")
    for name, data in (("jpeg", jpeg), ("png", png), ("webp", webp)):
        yield from truncations(name, data)
    yield "progressive-jpeg-cut", photo("JPEG", progressive=True)[:-300]
    # Bombs: a few KB that inflate to 64 MB of text or colour profile.
    yield "png-ztxt-bomb", png_with_chunk(b"zTXt", b"Comment\0\0" + _bomb())
    yield "png-itxt-bomb", png_with_chunk(b"iTXt", b"Comment\0\1\0\0\0" + _bomb())
    yield "png-iccp-bomb", png_with_chunk(b"iCCP", b"icc\0\0" + _bomb())
    yield "png-bad-crc", png[:-4] + b"\0\0\0\0"
    # Sizes and shapes.
    yield "jpeg-1x1", photo("JPEG", (1, 1))
    yield "jpeg-3200x1", photo("JPEG", (3200, 1))
    yield "jpeg-1x3200", photo("JPEG", (1, 3200))
    yield "png-20000x1", photo("PNG", (20000, 1))
    yield "webp-1x5000", photo("WEBP", (1, 5000))
    yield "png-7000x7000", _save(Image.new("RGB", (7000, 7000), (9, 9, 9)), "PNG")
    yield "jpeg-header-65500x65500", _jpeg_claiming((65500, 65500))
    # Modes.
    yield "jpeg-cmyk", _save(Image.new("CMYK", (200, 100), (0, 50, 100, 0)), "JPEG")
    yield "jpeg-grey", _save(Image.new("L", (200, 100), 128), "JPEG")
    yield "png-16-bit", _save(Image.new("I;16", (200, 100), 40000), "PNG")
    yield "png-palette-transparent", _save(Image.new("P", (200, 100), 3), "PNG", transparency=3)
    yield "png-la", _save(Image.new("LA", (200, 100), (100, 50)), "PNG")
    yield "png-1-bit", _save(Image.new("1", (200, 100), 1), "PNG")
    # Animations and formats we do not take.
    yield "gif-animated", _animated("GIF")
    yield "png-animated", _animated("PNG")
    yield "webp-animated", _animated("WEBP")
    yield "gif-still", _save(Image.new("RGB", (20, 20)), "GIF")
    yield "bmp", _save(Image.new("RGB", (20, 20)), "BMP")
    yield "tiff", _save(Image.new("RGB", (20, 20)), "TIFF")
    yield "empty", b""
    yield "text", b"hello, this is not a photo"
    yield "html", b"<!doctype html><script>alert(1)</script>"
    yield "svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    # Polyglots: an image with something else after it, or before it.
    yield "jpeg-plus-zip", jpeg + b"PK\x03\x04" + b"\0" * 100
    yield "png-plus-html", png + b"<script>alert(1)</script>"
    yield "html-then-jpeg", b"<html>" + jpeg
    yield "jpeg-plus-jpeg-with-gps", jpeg + photo("JPEG", (32, 32), exif=gps_exif().tobytes())
    # Metadata that must not survive into anything kept.
    yield "png-exif-wrong-case", png_with_chunk(b"exIf", gps_exif().tobytes()[6:])
    yield "png-exif", png_with_chunk(b"eXIf", gps_exif().tobytes()[6:])
    yield "png-text-gps", png_with_chunk(b"tEXt", b"GPS\0" + GPS_MARKER)
    yield "jpeg-gps", photo("JPEG", exif=gps_exif().tobytes())
    yield "webp-gps", photo("WEBP", exif=gps_exif().tobytes())
    yield from hostile_exif()


def _jpeg_claiming(size: tuple[int, int]) -> bytes:
    """A tiny JPEG whose frame header claims ``size``."""
    data = bytearray(photo("JPEG", (8, 8)))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, size[1], size[0])
    return bytes(data)
