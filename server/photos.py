"""The photo pipeline: validate, decode at the size needed, orient, strip, derive, store.

Only JPEG, PNG and WebP are accepted, recognised by their content. What is served is
re-encoded from pixels, so no metadata (GPS included) survives into it; the capture
time is read from EXIF first and kept in the database. Derived files are stored under
``photos/<aa>/<bb>/<sha256>-<size>.jpg`` (content-addressed), each written atomically.

The functions here are blocking: callers run them in a worker thread.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from .i18n import N_

MAX_PIXELS = 50_000_000
# Pillow's own bomb guard stays on (it raises at twice this); we refuse above it ourselves.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)  # refused below
DISPLAY_SIZE = 1600
THUMB_SIZE = 320
JPEG_QUALITY = 85
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
SIZES = ("display", "thumb", "original")

_EXIF_ORIENTATION = 0x0112
_EXIF_DATETIME = 0x0132
_EXIF_IFD = 0x8769
_EXIF_DATETIME_ORIGINAL = 0x9003
_EXIF_OFFSET_TIME_ORIGINAL = 0x9011

_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


class PhotoError(Exception):
    """A photo the server will not take; ``message`` is marked for translation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ProcessedPhoto:
    content_type: str
    width: int  # of the photo as seen, after orientation
    height: int
    captured_at: str | None
    display: bytes
    thumb: bytes
    orientation: int = 1  # the EXIF orientation the upload carried


def _captured_at(exif: Image.Exif) -> str | None:
    """EXIF DateTimeOriginal (with its offset when given), else DateTime, as ISO 8601."""
    sub = exif.get_ifd(_EXIF_IFD)
    raw = sub.get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(_EXIF_OFFSET_TIME_ORIGINAL)
    text = moment.isoformat()
    if isinstance(offset, str) and len(offset.strip("\x00 ")) == 6:
        text += offset.strip("\x00 ")
    return text


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency is laid on white, as a viewer would show it."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _encode(image: Image.Image) -> bytes:
    """Baseline JPEG with optimized Huffman tables: progressive costs 3× the encode time
    for no smaller file at these sizes."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def process(source: str | Path | IO[bytes]) -> ProcessedPhoto:
    """Validate one upload and derive its display copy and thumbnail.

    Raises :class:`PhotoError` for anything that is not a whole, still JPEG, PNG or
    WebP image within the pixel limit.
    """
    try:
        image = Image.open(source, formats=list(FORMATS))
    except UnidentifiedImageError as exc:
        raise PhotoError("not_an_image", N_("This file is not a JPEG, PNG or WebP photo.")) from exc
    except Image.DecompressionBombError as exc:
        raise PhotoError("too_many_pixels", N_("This photo has too many pixels.")) from exc
    except OSError as exc:
        raise PhotoError("unreadable", N_("This photo could not be read.")) from exc
    with image:
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError("too_many_pixels", N_("This photo has too many pixels."))
        if getattr(image, "n_frames", 1) > 1:
            raise PhotoError("animated", N_("Animated images are not accepted."))
        content_type = FORMATS[image.format or ""]
        exif = image.getexif()
        orientation = exif.get(_EXIF_ORIENTATION, 1)
        captured_at = _captured_at(exif)
        sensor_size = image.size  # before draft() reduces it
        if image.format == "JPEG":
            # Decode at reduced scale: the box keeps the photo's aspect, else Pillow's
            # min(w // bw, h // bh) falls back to a full-size decode.
            factor = DISPLAY_SIZE / max(image.size)
            if factor < 1:
                image.draft(
                    "RGB", (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
                )
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise PhotoError("truncated", N_("This photo is damaged or incomplete.")) from exc
        pixels = _flatten(image)
    # Pillow's resize is an antialiasing convolution: BICUBIC looks as good as LANCZOS at
    # these factors for a third less time (see docs/performance.md).
    display = ImageOps.contain(pixels, (DISPLAY_SIZE, DISPLAY_SIZE), Image.Resampling.BICUBIC)
    # Orient after downscaling: rotating 1600 px costs a tenth of rotating 12 MP.
    for step in _TRANSPOSE.get(orientation if isinstance(orientation, int) else 1, ()):
        display = display.transpose(step)
    thumb = display.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BICUBIC, reducing_gap=2.0)
    width, height = sensor_size[::-1] if orientation in (5, 6, 7, 8) else sensor_size
    return ProcessedPhoto(
        content_type,
        width,
        height,
        captured_at,
        _encode(display),
        _encode(thumb),
        orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1,
    )


_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def blob_path(photos_dir: Path, key: str, size: str, content_type: str = "image/jpeg") -> Path:
    """Where one size of a photo lives. Derived sizes are always JPEG; an original keeps
    its own format."""
    if size not in SIZES or len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
        raise ValueError("bad photo key or size")
    extension = _EXTENSIONS[content_type] if size == "original" else "jpg"
    return photos_dir / key[:2] / key[2:4] / f"{key}-{size}.{extension}"


# --- lossless metadata stripping, for originals kept on request ---------------------


def _minimal_exif(orientation: int) -> bytes:
    """An EXIF block holding only the orientation, with its APP1 header."""
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def strip_jpeg(data: bytes, orientation: int = 1) -> bytes:
    """Drop APP1 (EXIF, XMP), APP13 (IPTC) and comments without re-encoding; keep JFIF,
    ICC and Adobe segments. An orientation other than 1 is kept in a minimal EXIF."""
    if data[:2] != b"\xff\xd8":
        raise PhotoError("not_an_image", N_("This file is not a JPEG, PNG or WebP photo."))
    out = bytearray(b"\xff\xd8")
    if orientation != 1:
        payload = _minimal_exif(orientation)  # starts with the b"Exif\0\0" header
        out += b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise PhotoError("truncated", N_("This photo is damaged or incomplete."))
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[pos:]
            return bytes(out)
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos : pos + 2 + length]
        if marker not in (0xE1, 0xED, 0xFE):
            out += segment
        pos += 2 + length
    raise PhotoError("truncated", N_("This photo is damaged or incomplete."))


def strip_png(data: bytes) -> bytes:
    """Drop text, EXIF and time chunks; keep everything that draws the image."""
    out = bytearray(data[:8])
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos : pos + 12 + length]
        if kind not in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"):
            out += chunk
        pos += 12 + length
    return bytes(out)


def strip_webp(data: bytes) -> bytes:
    """Drop EXIF and XMP chunks and clear their flags in the VP8X header."""
    out = bytearray()
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunk = bytearray(data[pos : pos + 8 + length + (length & 1)])
        if kind == b"VP8X":
            chunk[8] &= ~(0x08 | 0x04) & 0xFF
        if kind not in (b"EXIF", b"XMP "):
            out += chunk
        pos += 8 + length + (length & 1)
    return b"RIFF" + (len(out) + 4).to_bytes(4, "little") + b"WEBP" + bytes(out)


def strip_original(data: bytes, content_type: str, orientation: int = 1) -> bytes:
    if content_type == "image/jpeg":
        return strip_jpeg(data, orientation)
    if content_type == "image/png":
        return strip_png(data)
    return strip_webp(data)


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class PhotoStore:
    """Where photo files live: local disk today, one small interface so an object store
    can take its place. Files are content-addressed and never change once written."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str, size: str, content_type: str = "image/jpeg") -> Path:
        return blob_path(self.root, key, size, content_type)

    def exists(self, key: str, size: str, content_type: str = "image/jpeg") -> bool:
        return self.path(key, size, content_type).is_file()

    def put(self, key: str, photo: ProcessedPhoto) -> None:
        """Write the derived sizes (idempotent: an existing file is the same content)."""
        for size, data in (("display", photo.display), ("thumb", photo.thumb)):
            path = self.path(key, size)
            if not path.exists():
                write_atomic(path, data)

    def put_original(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path(key, "original", content_type)
        if not path.exists():
            write_atomic(path, data)


def store(photos_dir: Path, key: str, photo: ProcessedPhoto) -> None:
    PhotoStore(photos_dir).put(key, photo)
