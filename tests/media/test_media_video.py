"""Videos: key-frame index from packet headers, random access equal to sequential decoding."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

av = pytest.importorskip("av")
np = pytest.importorskip("numpy")

from labelvault.media.images import MediaError  # noqa: E402
from labelvault.media.manifest import read_video_manifest, write_video_manifest  # noqa: E402
from labelvault.media.video import VideoReader, index_video, is_video_name  # noqa: E402

FRAMES, GOP = 40, 8


def _make_video(path: Path, codec: str, options: dict[str, str] | None = None) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = GOP
        if options:
            stream.codec_context.options = options
        for i in range(FRAMES):
            pixels = np.zeros((48, 64, 3), np.uint8)
            pixels[:, :, 0] = i * 6  # every frame differs, so a wrong frame is visible
            pixels[i % 48, :, 1] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


VIDEOS = {
    # B-frames make decode order differ from presentation order.
    "h264.mp4": (
        "libx264",
        {"bf": "2", "g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0"},
    ),
    "vp9.webm": ("libvpx-vp9", {"g": str(GOP)}),
}


@pytest.fixture(params=sorted(VIDEOS), scope="module")
def video(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    codec, options = VIDEOS[request.param]
    return _make_video(tmp_path_factory.mktemp("video") / request.param, codec, options)


def _sequential(path: Path) -> list:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_index(video: Path) -> None:
    index = index_video(video)
    assert (index.width, index.height, index.frame_count) == (64, 48, FRAMES)
    assert index.key_frames[0].number == 0 and index.key_frames[0].pts is not None
    numbers = [k.number for k in index.key_frames]
    assert numbers == sorted(numbers) and len(numbers) >= FRAMES // GOP


def test_random_access_equals_sequential_decode(video: Path) -> None:
    expected = _sequential(video)
    assert len(expected) == FRAMES
    order = list(range(FRAMES))
    random.Random(7).shuffle(order)
    with VideoReader(video) as reader:
        assert reader.frame_count == FRAMES and reader.size == (64, 48)
        for n in order:
            assert np.array_equal(np.asarray(reader.read_frame(n)), expected[n]), n
        for n, image in enumerate(reader.iter_frames()):
            assert np.array_equal(np.asarray(image), expected[n]), n
        assert len(list(reader.iter_frames(FRAMES - 3, FRAMES + 5))) == 3
        with pytest.raises(IndexError):
            reader.read_frame(FRAMES)


def test_read_frame_never_decodes_from_the_start(video: Path) -> None:
    index = index_video(video)
    last_key = index.key_frames[-1]
    with VideoReader(video, index) as reader:
        decoded: list[int] = []
        container = reader._container

        class Counting:  # PyAV containers' attributes are read-only, so wrap instead
            def __getattr__(self, name: str) -> object:
                return getattr(container, name)

            def decode(self, *args: object, **kwargs: object):
                for frame in container.decode(*args, **kwargs):
                    decoded.append(frame.pts)
                    yield frame

        reader._container = Counting()  # type: ignore[assignment]
        reader.read_frame(FRAMES - 1)
        # Only the last group (plus a few frames the decoder buffers) was decoded.
        assert len(decoded) <= FRAMES - last_key.number + 4
        assert min(decoded) >= last_key.pts


def test_checksums_and_manifest(video: Path, tmp_path: Path) -> None:
    index = index_video(video, checksums=True)
    assert all(k.checksum and len(k.checksum) == 32 for k in index.key_frames)
    path = tmp_path / "manifest.jsonl"
    write_video_manifest(path, index.properties(video.name), index.key_frames)
    props, keys = read_video_manifest(path)
    assert props.length == FRAMES and tuple(keys) == index.key_frames
    # A reader built from the stored index needs no second pass over the file.
    from labelvault.media.video import VideoIndex

    stored = VideoIndex(props.width, props.height, props.length, index.time_base, index.key_frames)
    with VideoReader(video, stored) as reader:
        assert np.array_equal(np.asarray(reader.read_frame(13)), _sequential(video)[13])


def test_display_rotation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(90)  # counterclockwise, as phones record portrait video
        pixels = np.zeros((48, 64, 3), np.uint8)
        pixels[:16, :16] = 255  # top-left corner white
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    index = index_video(path)
    assert (index.rotation, index.width, index.height) == (90, 48, 64)
    with VideoReader(path, index) as reader:
        image = reader.read_frame(2)
    assert image.size == (48, 64)
    # Turned counterclockwise: the top-left corner is now bottom-left.
    assert image.getpixel((4, 60))[0] > 200 and image.getpixel((4, 4))[0] < 50


def test_bad_videos(tmp_path: Path) -> None:
    text = tmp_path / "clip.mp4"
    text.write_text("not a video")
    with pytest.raises(MediaError, match="clip.mp4.*not a readable video"):
        index_video(text)
    with pytest.raises(MediaError, match="does not exist"):
        index_video(tmp_path / "missing.mp4")
    assert is_video_name("a/B.MP4") and is_video_name("x.webm") and not is_video_name("x.jpg")
