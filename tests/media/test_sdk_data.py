"""cvat-sdk's create_from_data against a live `labelvault serve`: local files and the share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import png_bytes
from tests.e2e.sdk.test_sdk import PASSWORD, Server, server  # noqa: F401  (live server fixture)
from tests.media.conftest import jpeg_bytes

pytestmark = pytest.mark.e2e

LABELS = [{"name": "car", "type": "rectangle", "attributes": []}]


def test_sdk_create_from_local_files_and_share(server: Server, tmp_path: Path) -> None:  # noqa: F811
    from cvat_sdk import make_client
    from cvat_sdk.core.proxies.tasks import ResourceType

    local = tmp_path / "local"
    local.mkdir()
    paths = []
    for i in range(4):
        path = local / f"img{i}.png"
        path.write_bytes(png_bytes(30 + i, 20))
        paths.append(path)
    share = server.data_dir.with_name(server.data_dir.name + "-storage") / "share"
    (share / "batch").mkdir(parents=True)
    for i in range(3):
        (share / "batch" / f"s{i}.jpg").write_bytes(jpeg_bytes(50 + i, 40))
    with make_client(
        "http://127.0.0.1", port=server.port, credentials=("admin", PASSWORD)
    ) as client:
        task = client.tasks.create_from_data(
            spec={"name": "local", "labels": LABELS},
            resource_type=ResourceType.LOCAL,
            resources=[str(p) for p in paths],
            data_params={"image_quality": 75, "sorting_method": "natural"},
        )
        assert task.size == 4
        assert [f.name for f in task.get_meta().frames] == [p.name for p in paths]
        frame = task.get_frame(2, quality="original")
        assert frame.read() == paths[2].read_bytes()

        shared = client.tasks.create_from_data(
            spec={"name": "shared", "labels": LABELS, "segment_size": 2},
            resource_type=ResourceType.SHARE,
            resources=["batch/"],
        )
        assert shared.size == 3
        assert [f.width for f in shared.get_meta().frames] == [50, 51, 52]
        assert len(shared.get_jobs()) == 2
        assert (
            shared.get_frame(1, quality="original").read()
            == (share / "batch" / "s1.jpg").read_bytes()
        )
