"""The app's registry of cloud storage connections: one Storage per row, forgotten on change."""

from __future__ import annotations

import pytest

from labelvault.cloudstorages.models import CloudStorage
from labelvault.cloudstorages.registry import CloudStorages
from labelvault.media.sources import SourceError


def _row(app) -> int:  # type: ignore[no-untyped-def]
    with app.state.db.session() as session:
        row = CloudStorage(
            provider_type="AWS_S3_BUCKET",
            resource="some-bucket",
            display_name="bucket",
            credentials_type="ANONYMOUS_ACCESS",
            specific_attributes="endpoint_url=http://127.0.0.1:9&prefix=data",
            credentials="{}",
            description="",
        )
        session.add(row)
        session.flush()
        return row.id


def test_the_app_keeps_one_registry(app) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(app.state.cloud_storages, CloudStorages)


def test_one_storage_per_row_until_forgotten(app) -> None:  # type: ignore[no-untyped-def]
    cloud_id = _row(app)
    clouds = CloudStorages(app.state.db, app.state.settings)
    storage = clouds.storage(cloud_id)
    assert clouds.storage(cloud_id) is storage
    with app.state.db.session() as session:
        assert clouds.storage_of(session.get(CloudStorage, cloud_id)) is storage
    clouds.forget(cloud_id)
    assert clouds.storage(cloud_id) is not storage
    # registries do not share connections: each app (or worker request) owns its own
    assert CloudStorages(app.state.db, app.state.settings).storage(cloud_id) is not storage


def test_a_missing_row_is_a_clear_error(app) -> None:  # type: ignore[no-untyped-def]
    clouds = CloudStorages(app.state.db, app.state.settings)
    with pytest.raises(SourceError, match="does not exist"):
        clouds.storage(12345)
