"""The photo pipeline: validate, decode at the size needed, orient, strip, derive, store.

Only JPEG, PNG and WebP are accepted, recognised by their content. What is served is
re-encoded from pixels, so no metadata (GPS included) survives into it; the capture
time is read from EXIF first and kept in the database. Derived files are stored as
``<aa>/<bb>/<sha256>-<size>.jpg`` (content-addressed) in the photo store
(:mod:`server.photo_store`), each written whole or not at all.

The functions here are blocking (but :func:`save`): callers run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from .i18n import N_

if TYPE_CHECKING:
    from .photo_store import PhotoStore

log = logging.getLogger("visitscore.photos")

MAX_PIXELS = 50_000_000
"""JPEGs are decoded at reduced scale (draft mode), so they may be large."""
MAX_FULL_DECODE_PIXELS = 24_000_000
"""PNG and WebP decode in full: 24 MP is at most ~100 MB of pixels per decode."""
# Pillow's own bomb guard stays on (it raises at twice this); we refuse above it ourselves.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)  # refused below
# Broken EXIF in an upload is skipped by Pillow with a warning: the photo is still fine.
warnings.filterwarnings("ignore", category=UserWarning, module="PIL.TiffImagePlugin")
PIXEL_BLOCK_BYTES = 4 * 1024 * 1024
PIXEL_BLOCKS_KEPT = 16
"""Pillow hands freed pixel memory back to the OS by default, so every photo's decode,
resize and rotation first-touch fresh pages: ~7,000 page faults a 12 MP photo, a fifth of
the pipeline's time (benchmarks/photos.py). Keeping up to 16 freed 4 MB blocks (64 MB at
most, about what two photo workers hold at once) lets the next photo reuse them. An
operator's PILLOW_BLOCK_SIZE / PILLOW_BLOCKS_MAX, read by Pillow itself, win."""


def _keep_freed_pixels() -> None:
    if "PILLOW_BLOCK_SIZE" not in os.environ:
        Image.core.set_block_size(PIXEL_BLOCK_BYTES)
    if "PILLOW_BLOCKS_MAX" not in os.environ:
        Image.core.set_blocks_max(PIXEL_BLOCKS_KEPT)


_keep_freed_pixels()
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


def _encode(image: Image.Image, optimize: bool) -> bytes:
    """Baseline JPEG: progressive costs 3× the encode time for no smaller file at these
    sizes. Optimized Huffman tables save a few percent for twice the encode time: worth
    it for thumbnails (listed by the dozen, cheap to encode), not for display copies."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=optimize)
    return out.getvalue()


def process(source: str | Path | IO[bytes]) -> ProcessedPhoto:
    """Validate one upload and derive its display copy and thumbnail.

    Raises :class:`PhotoError` for anything that is not a whole, still JPEG, PNG or
    WebP image within the pixel limits; whatever a hostile file makes a decoder raise
    (truncations, text-chunk bombs, broken EXIF) is a refusal, never a crash.
    """
    try:
        return _process(source)
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoError("too_many_pixels", N_("This photo has too many pixels.")) from exc
    except UnidentifiedImageError as exc:
        raise PhotoError("not_an_image", N_("This file is not a JPEG, PNG or WebP photo.")) from exc
    except MemoryError as exc:
        raise PhotoError("too_many_pixels", N_("This photo has too many pixels.")) from exc
    except Exception as exc:  # a decoder's complaint about a damaged or hostile file
        log.info("photo refused: %s: %s", type(exc).__name__, exc)
        raise PhotoError("unreadable", N_("This photo could not be read.")) from exc


def _fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    """``size`` scaled to fit a ``box`` square, never below 1 pixel a side (a 3200×1
    strip would otherwise round to zero)."""
    factor = min(1.0, box / max(size))
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def _process(source: str | Path | IO[bytes]) -> ProcessedPhoto:
    image = Image.open(source, formats=list(FORMATS))
    with image:
        pixels_limit = MAX_PIXELS if image.format == "JPEG" else MAX_FULL_DECODE_PIXELS
        if image.width * image.height > pixels_limit:
            raise PhotoError("too_many_pixels", N_("This photo has too many pixels."))
        if getattr(image, "n_frames", 1) > 1:
            raise PhotoError("animated", N_("Animated images are not accepted."))
        content_type = FORMATS[image.format or ""]
        exif = image.getexif()
        orientation = exif.get(_EXIF_ORIENTATION, 1)
        if not isinstance(orientation, int) or not 1 <= orientation <= 8:
            orientation = 1
        captured_at = _captured_at(exif)
        sensor_size = image.size  # before draft() reduces it
        if image.format == "JPEG":
            # Decode at reduced scale: the box keeps the photo's aspect, else Pillow's
            # min(w // bw, h // bh) falls back to a full-size decode.
            factor = DISPLAY_SIZE / max(image.size)
            if factor < 1:
                image.draft("RGB", _fit(image.size, DISPLAY_SIZE))
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise PhotoError("truncated", N_("This photo is damaged or incomplete.")) from exc
        pixels = _flatten(image)
    # Pillow's resize is an antialiasing convolution. At the factors left after a draft
    # decode (1 to 2) BILINEAR stays within half a dB of a full decode resized with
    # LANCZOS, for two thirds of BICUBIC's time (benchmarks/photos.py measures both).
    display = pixels
    if max(pixels.size) > DISPLAY_SIZE:
        display = pixels.resize(_fit(pixels.size, DISPLAY_SIZE), Image.Resampling.BILINEAR)
    # Orient after downscaling: rotating 1600 px costs a tenth of rotating 12 MP.
    for step in _TRANSPOSE.get(orientation, ()):
        display = display.transpose(step)
    # A box reduction by the whole factor first (an area average), then the filter over
    # the remainder: a fifth of a plain BICUBIC's time, within 0.1 dB of a LANCZOS
    # thumbnail of the full decode (benchmarks/photos.py measures it).
    thumb = display.resize(
        _fit(display.size, THUMB_SIZE), Image.Resampling.BICUBIC, reducing_gap=1.0
    )
    width, height = sensor_size[::-1] if orientation in (5, 6, 7, 8) else sensor_size
    return ProcessedPhoto(
        content_type,
        width,
        height,
        captured_at,
        _encode(display, optimize=False),
        _encode(thumb, optimize=True),
        orientation,
    )


_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def blob_name(key: str, size: str, content_type: str = "image/jpeg") -> str:
    """The name one size of a photo is stored under (``aa/bb/<sha256>-<size>.<ext>``):
    content-addressed, the same in every store. Derived sizes are always JPEG; an
    original keeps its own format."""
    if size not in SIZES or len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
        raise ValueError("bad photo key or size")
    extension = _EXTENSIONS[content_type] if size == "original" else "jpg"
    return f"{key[:2]}/{key[2:4]}/{key}-{size}.{extension}"


# --- lossless metadata stripping, for originals kept on request ---------------------


def _minimal_exif(orientation: int) -> bytes:
    """An EXIF block holding only the orientation, with its APP1 header."""
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = orientation
    return exif.tobytes()


_JPEG_KEEP = frozenset((set(range(0xC0, 0xD0)) - {0xC8}) | {0xDB, 0xDD, 0xE0, 0xE2, 0xEE})
"""Segments that draw the image: frame headers (SOFn), Huffman and arithmetic tables
(DHT, DAC), quantisation tables (DQT), restart interval (DRI), JFIF (APP0), ICC (APP2)
and Adobe (APP14). Everything else (EXIF, XMP, IPTC, comments, maker notes) goes."""


def _damaged() -> PhotoError:
    return PhotoError("truncated", N_("This photo is damaged or incomplete."))


def _scan_end(data: bytes, pos: int) -> int:
    """The offset of the first marker after entropy-coded data that starts at ``pos``
    (stuffed 0xFF00 bytes and restart markers belong to the scan)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise _damaged()
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def strip_jpeg(data: bytes, orientation: int = 1) -> bytes:
    """Keep only what draws the image, without re-encoding, up to the end-of-image
    marker: whatever follows it (a second JPEG with its own EXIF) is dropped. An
    orientation other than 1 is kept in a minimal EXIF."""
    if data[:2] != b"\xff\xd8":
        raise PhotoError("not_an_image", N_("This file is not a JPEG, PNG or WebP photo."))
    out = bytearray(b"\xff\xd8")
    if orientation != 1:
        payload = _minimal_exif(orientation)  # starts with the b"Exif\0\0" header
        out += b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            raise _damaged()
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of image
            out += b"\xff\xd9"
            return bytes(out)
        if pos + 4 > len(data):
            raise _damaged()
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            raise _damaged()
        if marker == 0xDA:  # start of scan: header, then entropy-coded data
            end = _scan_end(data, pos + 2 + length)
            out += data[pos:end]
            pos = end
            continue
        if marker in _JPEG_KEEP:
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    raise _damaged()


_PNG_KEEP = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT"}
    | {b"bKGD", b"pHYs"}
)
"""Chunks that draw the image. Text (tEXt, zTXt, iTXt), EXIF under any spelling of its
name, times and every chunk we do not know are dropped."""


def strip_png(data: bytes) -> bytes:
    """Keep only the chunks that draw the image, up to IEND."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise PhotoError("not_an_image", N_("This file is not a JPEG, PNG or WebP photo."))
    out = bytearray(data[:8])
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if pos + 12 + length > len(data):
            raise _damaged()
        if kind in _PNG_KEEP:
            out += data[pos : pos + 12 + length]
        if kind == b"IEND":
            return bytes(out)
        pos += 12 + length
    raise _damaged()


_WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP"})


def strip_webp(data: bytes) -> bytes:
    """Keep the bitstream, alpha and colour profile chunks; clear the EXIF and XMP flags
    in the VP8X header. Anything after the RIFF size is dropped."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise PhotoError("not_an_image", N_("This file is not a JPEG, PNG or WebP photo."))
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    out = bytearray()
    pos = 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        size = 8 + length + (length & 1)
        if pos + 8 + length > end:
            raise _damaged()
        chunk = bytearray(data[pos : pos + size])
        if kind == b"VP8X":
            chunk[8] &= ~(0x08 | 0x04) & 0xFF
        if kind in _WEBP_KEEP:
            out += chunk
        pos += size
    return b"RIFF" + (len(out) + 4).to_bytes(4, "little") + b"WEBP" + bytes(out)


def strip_original(data: bytes, content_type: str, orientation: int = 1) -> bytes:
    if content_type == "image/jpeg":
        return strip_jpeg(data, orientation)
    if content_type == "image/png":
        return strip_png(data)
    return strip_webp(data)


def prepare(source: Path, keep_original: bool) -> tuple[ProcessedPhoto, bytes | None]:
    """Everything an upload needs before anything is written: the derived sizes and,
    when originals are kept, the original without its metadata (None when it cannot be
    stripped losslessly: the photo is then kept without its original)."""
    processed = process(source)
    if not keep_original:
        return processed, None
    try:
        original = strip_original(
            source.read_bytes(), processed.content_type, processed.orientation
        )
    except PhotoError:
        log.warning("original not kept: its metadata could not be removed losslessly")
        return processed, None
    return processed, original


def prepare_upload(source: IO[bytes]) -> tuple[ProcessedPhoto, str]:
    """A photo sent with a form (an action plan's evidence): its derived sizes and its
    SHA-256, the key its sizes are stored under (read from the start of ``source``)."""
    source.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(1 << 16), b""):
        digest.update(chunk)
    source.seek(0)
    return process(source), digest.hexdigest()


async def save(store: PhotoStore, key: str, photo: ProcessedPhoto) -> None:
    """Store the derived sizes (idempotent: a stored name holds the same content)."""
    await store.put(blob_name(key, "thumb"), photo.thumb, "image/jpeg")
    await store.put(blob_name(key, "display"), photo.display, "image/jpeg")


async def save_original(store: PhotoStore, key: str, data: bytes, content_type: str) -> None:
    await store.put(blob_name(key, "original", content_type), data, content_type)
