"""Still images: header-only probing, verification, frame decoding and JPEG encodings."""

from __future__ import annotations

import io
import os
import posixpath
import struct
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 100_000_000  # settings.max_image_pixels; the same default


def raise_pillow_limit(max_pixels: int) -> None:
    """Make Pillow's process-wide bomb guard no stricter than ``max_pixels``.

    Every function here checks its own ``max_pixels`` before decoding; Pillow's global
    guard (warns above 89 Mpx, refuses above 179 Mpx by default) would otherwise make a
    larger configured limit impossible. Raised, never disabled, so code elsewhere that
    opens images with Pillow directly keeps a guard. Call once at startup with the setting.
    """
    current = Image.MAX_IMAGE_PIXELS
    if current is not None and current < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


raise_pillow_limit(DEFAULT_MAX_PIXELS)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
)

# Pillow format names we accept; MPO is what Pillow calls camera JPEGs that carry a second
# (depth or preview) image, and we treat it as the JPEG it is to every other reader.
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "TIFF", "WEBP", "GIF"})

# Modes with more than 8 bits per sample. Pillow's conversion to 8-bit clips instead of
# scaling, so a 12-bit microscopy image would turn white; the right windowing depends on
# the data, so we refuse rather than guess.
_HIGH_BIT_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N", "I;16S", "I;32"})

EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_JPEG_TAIL = 4096

# What Pillow raises for damaged data, depending on the plugin and where the damage is.
_DAMAGED = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError)


class MediaError(ValueError):
    """A file the user supplied cannot be used; the message names it and says what to fix.

    ``path`` is the file as given to the function (often a server path) and ``reason`` the
    problem alone, so callers can rephrase with the name the user knows:
    ``f"{user_name}: {err.reason}"``.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the headers say; width and height are as displayed (after EXIF orientation)."""

    width: int
    height: int
    format: str  # Pillow's name, MPO reported as JPEG
    orientation: int  # EXIF orientation 1..8, 1 when absent
    mode: str  # Pillow mode of the stored pixels, e.g. RGB, L, P, RGBA, CMYK
    frames: int  # pages in a TIFF (reduced-resolution subfiles not counted), else 1


def is_image_name(name: str) -> bool:
    """True for a file name with a supported image extension that is not OS metadata."""
    parts = name.replace("\\", "/").split("/")
    base = parts[-1]
    # macOS puts AppleDouble files (._x.jpg, often under __MACOSX/) next to every image in
    # zips and on SMB shares; they carry the image's extension but are not images.
    if base.startswith("._") or "__MACOSX" in parts[:-1]:
        return False
    return posixpath.splitext(base)[1].lower() in IMAGE_EXTENSIONS


def _orientation(im: Image.Image) -> int:
    # PNG's getexif() decodes the whole image to find an eXIf chunk after IDAT; only
    # trust one that appeared before the pixel data (where the header parser saw it).
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    if im.format in ("BMP", "GIF") and "exif" not in im.info:
        return 1
    try:
        value = im.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except Exception:
        # A mangled EXIF block should not make an otherwise good photo unusable.
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _tiff_pages(im: Image.Image) -> int:
    n = getattr(im, "n_frames", 1)
    if n <= 1:
        return 1
    pages = 1
    # Scanners and GIS tools store reduced-resolution previews as extra IFDs (NewSubfileType
    # bit 0); those are not pages the user meant to annotate.
    for i in range(1, n):
        im.seek(i)
        if not int(im.tag_v2.get(254, 0)) & 1:
            pages += 1
    im.seek(0)
    return pages


def _open(fp: io.BufferedReader, path: str | os.PathLike[str], max_pixels: int) -> Image.Image:
    """Lazy-open and check an image (headers only); raise MediaError for anything unusable."""
    try:
        im = Image.open(fp)
    except Image.DecompressionBombError as exc:
        raise MediaError(
            path,
            f"is too large to open safely ({exc}); downscale or tile the image, or raise the "
            "pixel limit",
        ) from None
    except UnidentifiedImageError:
        raise MediaError(
            path,
            "is not a readable image (the content is not JPEG, PNG, BMP, TIFF, WebP or GIF, "
            "or its header is damaged); re-export or replace the file",
        ) from None
    except _DAMAGED as exc:
        raise MediaError(
            path, f"has a damaged header ({exc}); re-export or replace the file"
        ) from None
    fmt = im.format or "unknown"
    if fmt not in SUPPORTED_FORMATS:
        raise MediaError(
            path,
            f"is a {fmt} image, which is not supported; convert it to PNG or JPEG",
        )
    w, h = im.size
    if w <= 0 or h <= 0:
        raise MediaError(path, f"has an invalid size {w}x{h}; re-export or replace the file")
    if w * h > max_pixels:
        raise MediaError(
            path,
            f"is {w}x{h} = {w * h / 1e6:.0f} Mpx, over the limit of {max_pixels / 1e6:.0f} Mpx "
            "(decompression-bomb guard); downscale or tile the image, or raise the pixel limit "
            "(LABELVAULT_MAX_IMAGE_PIXELS)",
        )
    if im.mode in _HIGH_BIT_MODES:
        raise MediaError(
            path,
            f"has more than 8 bits per sample (mode {im.mode}); convert it to 8-bit grayscale "
            "or RGB with the contrast window you want to annotate in",
        )
    return im


def _info(im: Image.Image, path: str | os.PathLike[str]) -> ImageInfo:
    fmt = "JPEG" if im.format == "MPO" else im.format
    assert fmt is not None
    try:
        frames = _tiff_pages(im) if fmt == "TIFF" else 1
    except _DAMAGED as exc:
        raise MediaError(path, f"has a damaged page directory ({exc}); re-export it") from None
    if frames > 1:
        raise MediaError(
            path,
            f"is a multi-page TIFF ({frames} pages); a frame is one image, so split it "
            "into one file per page (e.g. `tiffsplit` or `magick in.tif page_%03d.tif`)",
        )
    orientation = _orientation(im)
    w, h = im.size
    if orientation >= 5:
        w, h = h, w
    return ImageInfo(w, h, fmt, orientation, im.mode, frames)


def _open_file(path: str | os.PathLike[str]) -> io.BufferedReader:
    try:
        return open(path, "rb")  # noqa: SIM115 - callers close it
    except FileNotFoundError:
        raise MediaError(path, "does not exist; check the path or upload it again") from None
    except IsADirectoryError:
        raise MediaError(path, "is a folder, not an image file") from None
    except OSError as exc:
        raise MediaError(path, f"cannot be opened ({exc.strerror})") from None


def probe_image(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Read size, format and orientation from the headers only (no pixel decoding).

    Multi-page TIFFs are refused: a task frame is one file, so pages must be split first.
    Truncation past the headers is not detected here; see verify_image.
    """
    with _open_file(path) as fp:
        return _info(_open(fp, path, max_pixels), path)


def _check_tail(path: str | os.PathLike[str], im: Image.Image, fp: io.BufferedReader) -> bool:
    """Structural end-of-file check per format; True if it passed, False if undecidable."""
    size = os.fstat(fp.fileno()).st_size
    fmt = im.format
    truncated = MediaError(
        path, "is truncated (the file ends before the image data does); upload it again"
    )
    if fmt in ("JPEG", "MPO"):
        # 0xFFD9 cannot occur inside entropy-coded data (0xFF is stuffed), so an EOI after
        # the first scan starts means the scan finished. Trailers after EOI (phone depth
        # maps, motion-photo videos) are legal, hence searching rather than reading 2 bytes.
        scan_start = im.tile[0][2] if im.tile else 0
        start = max(scan_start, size - _JPEG_TAIL)
        fp.seek(start)
        if b"\xff\xd9" in fp.read():
            return True
        if start > scan_start:
            fp.seek(scan_start)
            prev = b""
            while chunk := fp.read(1 << 20):
                if b"\xff\xd9" in prev + chunk[:1] or b"\xff\xd9" in chunk:
                    return True
                prev = chunk[-1:]
        raise truncated
    if fmt == "PNG":
        fp.seek(max(0, size - 12))
        if fp.read(12) != b"\x00\x00\x00\x00IEND\xaeB`\x82":
            raise truncated
        return True
    if fmt == "WEBP":
        fp.seek(4)
        (riff_size,) = struct.unpack("<I", fp.read(4))
        if size < riff_size + 8:
            raise truncated
        return True
    if fmt == "BMP":
        fp.seek(0)
        header = fp.read(54)
        if len(header) < 34:
            raise truncated
        off_bits = struct.unpack_from("<I", header, 10)[0]
        dib_size = struct.unpack_from("<I", header, 14)[0]
        if dib_size < 40:
            return False
        bits, compression = struct.unpack_from("<HI", header, 28)
        if compression not in (0, 3, 6):  # uncompressed or bitfields; RLE needs a decode
            return False
        w, h = im.size
        if size < off_bits + ((w * bits + 31) // 32) * 4 * h:
            raise truncated
        return True
    if fmt == "TIFF":
        tags = im.tag_v2
        offsets = tags.get(273) or tags.get(324)
        counts = tags.get(279) or tags.get(325)
        if not offsets or not counts:
            return False
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        if max(o + c for o, c in zip(offsets, counts, strict=False)) > size:
            raise truncated
        return True
    return False


def verify_image(
    path: str | os.PathLike[str],
    *,
    full: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ImageInfo:
    """Probe and check the file is complete; return its ImageInfo or raise MediaError.

    Cost: the default reads the headers plus a few bytes at the end (JPEG: an EOI marker
    after the scan in the last 4 KiB; PNG: IEND; WebP: RIFF size; BMP/TIFF: pixel data
    extents), which catches truncated uploads at ~34,000 images/s/core against ~44,000 for
    probe_image (bench/probe_images.py). A JPEG with a trailer after EOI (phone depth maps,
    motion photos) is scanned from its first scan, still without decoding. GIF and RLE BMP
    are decoded (first frame). ``full=True`` decodes every pixel as well, catching corrupt
    data inside a complete file at the price of a full decode (~1.6 ms for a 1024x768 JPEG).
    """
    with _open_file(path) as fp:
        im = _open(fp, path, max_pixels)
        info = _info(im, path)
        try:
            checked = _check_tail(path, im, fp)
            if full or not checked:
                fp.seek(0)
                im = Image.open(fp)
                im.load()
        except MediaError:
            raise
        except _DAMAGED as exc:
            raise MediaError(
                path, f"is damaged or truncated ({exc}); re-export or upload it again"
            ) from None
    return info


def _to_rgb_or_l(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "L"):
        return im
    if im.mode in ("1", "LA", "La"):
        return im.convert("L")
    if im.mode == "P" and "transparency" in im.info:
        # Going through RGBA avoids Pillow's warning and uses the palette's alpha properly.
        return im.convert("RGBA").convert("RGB")
    return im.convert("RGB")


def load_frame(
    path: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode an image as displayed: EXIF orientation applied, converted to RGB or L.

    ``draft`` lets JPEG decode at a reduced scale no smaller than the given box (for
    previews); the result is then not full size.
    """
    with _open_file(path) as fp:
        im = _open(fp, path, max_pixels)
        try:
            orientation = _orientation(im)
            if draft is not None and im.format in ("JPEG", "MPO"):
                im.draft("RGB" if im.mode != "L" else "L", draft)
            im.load()
        except _DAMAGED as exc:
            raise MediaError(
                path, f"is damaged or truncated ({exc}); re-export or upload it again"
            ) from None
    if orientation in _TRANSPOSE:
        im = im.transpose(_TRANSPOSE[orientation])
    return _to_rgb_or_l(im)


def encode_jpeg(im: Image.Image, quality: int) -> bytes:
    """Encode an RGB or L image as JPEG at the given quality (1..100)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1..100, got {quality}")
    buf = io.BytesIO()
    # 4:2:0 like CVAT and browsers' defaults; optimize costs ~10% time for ~5% bytes.
    im.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def encode_compressed(
    path: str | os.PathLike[str], quality: int, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> bytes:
    """The 'compressed' frame CVAT serves: the displayed image as JPEG at ``quality``.

    Full size, never resized, so annotation coordinates match the original.
    """
    return encode_jpeg(load_frame(path, max_pixels=max_pixels), quality)


def make_preview(
    path: str | os.PathLike[str],
    max_side: int = 256,
    *,
    quality: int = 85,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> bytes:
    """A JPEG thumbnail whose longer side is at most ``max_side`` (never upscaled)."""
    # JPEG DCT scaling (draft) makes a 24 Mpx photo's preview several times faster.
    im = load_frame(path, max_pixels=max_pixels, draft=(max_side, max_side))
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return encode_jpeg(im, quality)
