"""Header probing, verification and decoding of still images, including every bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from labelvault.media.images import (
    MediaError,
    encode_compressed,
    is_image_name,
    load_frame,
    make_preview,
    probe_image,
    raise_pillow_limit,
    verify_image,
)


def _noise(w: int, h: int, mode: str = "RGB") -> Image.Image:
    # Noise, not a flat colour, so truncation hits real entropy-coded data.
    return Image.frombytes(mode, (w, h), bytes((i * 7919) % 251 for i in range(w * h * 3)))


def _jpeg(path: Path, w: int = 64, h: int = 48, orientation: int | None = None) -> Path:
    im = _noise(w, h)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    im.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


@pytest.mark.parametrize(
    ("fmt", "ext", "mode"),
    [
        ("JPEG", ".jpg", "RGB"),
        ("PNG", ".png", "RGBA"),
        ("BMP", ".bmp", "RGB"),
        ("TIFF", ".tif", "RGB"),
        ("WEBP", ".webp", "RGB"),
        ("GIF", ".gif", "P"),
    ],
)
def test_probe_and_verify_each_format(tmp_path: Path, fmt: str, ext: str, mode: str) -> None:
    path = tmp_path / f"img{ext}"
    _noise(40, 30).convert(mode).save(path, fmt)
    info = probe_image(path)
    assert (info.width, info.height, info.format, info.frames) == (40, 30, fmt, 1)
    assert verify_image(path) == info
    assert verify_image(path, full=True) == info
    im = load_frame(path)
    assert im.size == (40, 30) and im.mode in ("RGB", "L")


def test_probe_does_not_decode_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _jpeg(tmp_path / "a.jpg")

    def no_load(self: Image.Image) -> None:
        raise AssertionError("probe_image decoded pixels")

    monkeypatch.setattr(Image.Image, "load", no_load)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_load)
    assert probe_image(path).width == 64


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_swaps_size_and_load_frame_agrees(
    tmp_path: Path, orientation: int
) -> None:
    path = _jpeg(tmp_path / "rot.jpg", 64, 48, orientation)
    info = probe_image(path)
    expected = (48, 64) if orientation >= 5 else (64, 48)
    assert (info.width, info.height) == expected
    assert info.orientation == orientation
    assert load_frame(path).size == expected
    with Image.open(io.BytesIO(encode_compressed(path, 70))) as im:
        assert im.size == expected and im.format == "JPEG"


def test_exif_rotation_direction_matches_pillow(tmp_path: Path) -> None:
    from PIL import ImageOps

    path = _jpeg(tmp_path / "rot.jpg", 64, 48, 6)
    with Image.open(path) as raw:
        ref = ImageOps.exif_transpose(raw)
        assert ref is not None
        assert load_frame(path).tobytes() == ref.convert("RGB").tobytes()


def test_grayscale_jpeg_stays_l_and_cmyk_becomes_rgb(tmp_path: Path) -> None:
    _noise(20, 10).convert("L").save(tmp_path / "g.jpg")
    _noise(20, 10).convert("CMYK").save(tmp_path / "c.jpg")
    assert load_frame(tmp_path / "g.jpg").mode == "L"
    assert load_frame(tmp_path / "c.jpg").mode == "RGB"
    assert probe_image(tmp_path / "c.jpg").mode == "CMYK"


def test_gif_uses_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 8), c) for c in ("red", "blue", "green")]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert probe_image(path).frames == 1
    assert load_frame(path).getpixel((0, 0)) == (255, 0, 0)


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.new("P", (8, 8), 3).save(path, transparency=3)
    assert load_frame(path).mode == "RGB"


def _expect(path: Path, *words: str, **kwargs: int) -> MediaError:
    with pytest.raises(MediaError) as err:
        probe_image(path, **kwargs)
    assert str(path) in str(err.value)
    for word in words:
        assert word in str(err.value)
    return err.value


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("hello, I am not a picture\n")
    err = _expect(path, "not a readable image")
    assert err.path == str(path) and err.reason in str(err)
    assert isinstance(err, ValueError)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    _expect(tmp_path / "empty.png", "not a readable image")
    _expect(tmp_path / "missing.png", "does not exist")
    _expect(tmp_path, "folder")


def test_corrupt_header(tmp_path: Path) -> None:
    good = _jpeg(tmp_path / "good.jpg").read_bytes()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(good[:2] + b"\xff\xc0\x00\x01" + good[6:40])  # SOF with length 1
    with pytest.raises(MediaError, match="bad.jpg"):
        verify_image(bad)


def test_unsupported_format_is_named(tmp_path: Path) -> None:
    path = tmp_path / "img.ppm"
    _noise(8, 8).save(path, "PPM")
    _expect(path, "PPM", "not supported", "convert")


def test_pixel_limit_guards_bombs(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("1", (5000, 5000)).save(path)  # 25 Mpx, a few KiB on disk
    _expect(path, "25 Mpx", "limit", max_pixels=10_000_000)
    with pytest.raises(MediaError, match="limit"):
        load_frame(path, max_pixels=10_000_000)
    assert probe_image(path, max_pixels=30_000_000).width == 5000


def test_limit_above_pillows_own_guard_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pillow alone refuses anything above ~179 Mpx; the default and a raised limit must win.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header(12_000, 12_000))
    with pytest.warns(Image.DecompressionBombWarning):  # Pillow warns, we refuse
        _expect(path, "144 Mpx", "limit of 100 Mpx")
    path.write_bytes(_png_header(20_000, 12_000))
    raise_pillow_limit(300_000_000)
    assert probe_image(path, max_pixels=300_000_000).width == 20_000
    raise_pillow_limit(1000)  # never lowers it
    assert Image.MAX_IMAGE_PIXELS == 300_000_000


def test_pillows_guard_is_reported_as_media_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = tmp_path / "big.png"
    Image.new("1", (100, 100)).save(path)
    _expect(path, "too large to open safely", max_pixels=10**9)


def _png_header(w: int, h: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    # Only the headers are real: the pixel data would be 25 MB and is never read.
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("fmt", "ext"),
    [
        ("JPEG", ".jpg"),
        ("PNG", ".png"),
        ("WEBP", ".webp"),
        ("BMP", ".bmp"),
        ("TIFF", ".tif"),
        ("GIF", ".gif"),
    ],
)
def test_truncated_files_are_caught_by_cheap_verify(tmp_path: Path, fmt: str, ext: str) -> None:
    path = tmp_path / f"cut{ext}"
    _noise(200, 150).save(path, fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    if fmt != "WEBP":  # libwebp checks the container at open, the others cannot tell
        probe_image(path)
    with pytest.raises(MediaError, match=rf"cut\{ext}.*(truncated|damaged)"):
        verify_image(path)
    with pytest.raises(MediaError, match=r"cut"):
        load_frame(path)


def test_jpeg_with_trailer_after_eoi_is_fine(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / "motion.jpg")
    with path.open("ab") as fp:  # like a motion photo's appended video
        fp.write(bytes(range(256)).replace(b"\xff", b"\x00") * 1024)
    verify_image(path)


def test_16_bit_tiff_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "depth.tif"
    Image.new("I;16", (16, 16), 4000).save(path)
    _expect(path, "8 bits", "I;16", "convert")


def test_multi_page_tiff_is_refused_but_reduced_previews_are_not(tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    pages = [Image.new("RGB", (16, 16), c) for c in ("red", "green", "blue")]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    _expect(path, "multi-page", "3 pages", "split")

    from PIL import TiffImagePlugin

    preview = tmp_path / "with_preview.tif"
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[254] = 1  # NewSubfileType: reduced-resolution version of the main image
    with TiffImagePlugin.AppendingTiffWriter(preview, new=True) as tf:
        Image.new("RGB", (32, 32), "red").save(tf, "TIFF")
        tf.newFrame()
        Image.new("RGB", (8, 8), "red").save(tf, "TIFF", tiffinfo=ifd)
        tf.newFrame()
    assert probe_image(preview).width == 32


def test_make_preview_and_compressed(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / "big.jpg", 1200, 600, orientation=6)
    with Image.open(io.BytesIO(make_preview(path))) as im:
        assert im.format == "JPEG" and im.size == (128, 256)
    with Image.open(io.BytesIO(make_preview(path, max_side=64))) as im:
        assert max(im.size) == 64
    small = _jpeg(tmp_path / "small.jpg", 40, 20)
    with Image.open(io.BytesIO(make_preview(small))) as im:
        assert im.size == (40, 20)  # never upscaled
    low, high = encode_compressed(path, 10), encode_compressed(path, 95)
    assert len(low) < len(high)
    with pytest.raises(ValueError):
        encode_compressed(path, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", True),
        ("dir/B.JPEG", True),
        ("x.tiff", True),
        ("x.webp", True),
        ("x.txt", False),
        ("x", False),
        ("jpg", False),
        ("._a.jpg", False),
        ("__MACOSX/dir/._a.jpg", False),
        ("__MACOSX/a.jpg", False),
        ("dir\\sub\\c.png", True),
    ],
)
def test_is_image_name(name: str, expected: bool) -> None:
    assert is_image_name(name) is expected
