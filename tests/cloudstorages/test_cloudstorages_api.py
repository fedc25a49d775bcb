"""Cloud storages against moto's S3 on 127.0.0.1: CRUD, listing, status, preview, tasks."""

from __future__ import annotations

import io

import boto3
import pytest
from PIL import Image

from tests.helpers.servers import S3_BUCKET, S3_REGION
from tests.media.conftest import jpeg_bytes, meta, new_task, post_data


@pytest.fixture
def bucket_prefix(s3_server, request) -> str:  # type: ignore[no-untyped-def]
    """A fresh prefix in the test bucket holding a few images."""
    import uuid

    prefix = f"data-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name=S3_REGION,
        aws_access_key_id=s3_server.key,
        aws_secret_access_key=s3_server.secret,
    )
    for name, size in [
        ("img/a.jpg", (40, 30)),
        ("img/b.jpg", (41, 30)),
        ("img/deep/c.jpg", (42, 30)),
    ]:
        s3.put_object(Bucket=S3_BUCKET, Key=f"{prefix}/{name}", Body=jpeg_bytes(*size))
    s3.put_object(Bucket=S3_BUCKET, Key=f"{prefix}/readme.txt", Body=b"hi")
    return prefix


def _spec(s3_server, prefix: str, secret: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    return {
        "provider_type": "AWS_S3_BUCKET",
        "resource": S3_BUCKET,
        "display_name": "moto bucket",
        "credentials_type": "KEY_SECRET_KEY_PAIR",
        "key": s3_server.key,
        "secret_key": secret or s3_server.secret,
        "specific_attributes": (
            f"endpoint_url={s3_server.endpoint}&region={S3_REGION}&prefix={prefix}"
        ),
    }


def test_cloud_storage_crud_never_returns_credentials(admin, s3_server, bucket_prefix) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/cloudstorages", json=_spec(s3_server, bucket_prefix))
    assert response.status_code == 201, response.text
    created = response.json()
    assert s3_server.secret not in response.text and s3_server.key not in response.text
    assert created["provider_type"] == "AWS_S3_BUCKET"
    assert f"prefix={bucket_prefix}" in created["specific_attributes"]
    cid = created["id"]
    listed = admin.get("/api/cloudstorages").json()
    assert [c["id"] for c in listed["results"]] == [cid]
    assert s3_server.secret not in str(listed)
    assert admin.get(f"/api/cloudstorages/{cid}/status").json() == "AVAILABLE"
    content = admin.get(f"/api/cloudstorages/{cid}/content-v2", params={"prefix": "img/"}).json()
    assert content == {
        "content": [
            {"name": "deep", "type": "DIR", "mime_type": "DIR"},
            {"name": "a.jpg", "type": "REG", "mime_type": "image"},
            {"name": "b.jpg", "type": "REG", "mime_type": "image"},
        ],
        "next": None,
    }
    page = admin.get(
        f"/api/cloudstorages/{cid}/content-v2", params={"prefix": "img/", "page_size": 2}
    ).json()
    assert len(page["content"]) == 2 and page["next"]
    rest = admin.get(
        f"/api/cloudstorages/{cid}/content-v2",
        params={"prefix": "img/", "page_size": 2, "next_token": page["next"]},
    ).json()
    assert [c["name"] for c in rest["content"]] == ["b.jpg"] and rest["next"] is None
    preview = admin.get(f"/api/cloudstorages/{cid}/preview")
    assert preview.status_code == 200
    assert Image.open(io.BytesIO(preview.content)).format == "JPEG"
    updated = admin.patch(f"/api/cloudstorages/{cid}", json={"display_name": "renamed"})
    assert updated.status_code == 200 and updated.json()["display_name"] == "renamed"
    assert admin.delete(f"/api/cloudstorages/{cid}").status_code == 204
    assert admin.get(f"/api/cloudstorages/{cid}").status_code == 404


def test_wrong_credentials_are_refused(admin, s3_server, bucket_prefix) -> None:  # type: ignore[no-untyped-def]
    response = admin.post(
        "/api/cloudstorages", json=_spec(s3_server, bucket_prefix, "wrong-secret")
    )
    assert response.status_code == 400
    assert "FORBIDDEN" in response.text and "wrong-secret" not in response.text
    bad = {**_spec(s3_server, bucket_prefix), "credentials_type": "KEY_FILE_PATH"}
    assert admin.post("/api/cloudstorages", json=bad).status_code == 400


def test_other_users_do_not_see_a_cloud_storage(admin, make_user, s3_server, bucket_prefix) -> None:  # type: ignore[no-untyped-def]
    cid = admin.post("/api/cloudstorages", json=_spec(s3_server, bucket_prefix)).json()["id"]
    other = make_user("bob")
    assert other.get(f"/api/cloudstorages/{cid}").status_code == 404
    assert other.get("/api/cloudstorages").json()["count"] == 0
    task = new_task(other)
    response = other.post(
        f"/api/tasks/{task['id']}/data/", json={"cloud_storage_id": cid, "server_files": ["img/"]}
    )
    assert response.status_code == 400


def test_task_from_bucket_reads_through(app, admin, s3_server, bucket_prefix) -> None:  # type: ignore[no-untyped-def]
    cid = admin.post("/api/cloudstorages", json=_spec(s3_server, bucket_prefix)).json()["id"]
    task = new_task(admin)
    status = post_data(
        admin,
        task["id"],
        {"cloud_storage_id": cid, "server_files": ["img/"], "sorting_method": "natural"},
    )
    assert status["status"] == "finished", status
    data = meta(admin, task["id"])
    assert [(f["name"], f["width"]) for f in data["frames"]] == [
        ("img/a.jpg", 40),
        ("img/b.jpg", 41),
        ("img/deep/c.jpg", 42),
    ]
    assert data["storage"] == "cloud_storage" and data["cloud_storage_id"] == cid
    assert admin.get(f"/api/tasks/{task['id']}").json()["data_cloud_storage_id"] == cid
    original = admin.get(
        f"/api/tasks/{task['id']}/data",
        params={"type": "frame", "number": 2, "quality": "original"},
    )
    assert original.status_code == 200
    assert Image.open(io.BytesIO(original.content)).size == (42, 30)
    chunk = admin.get(f"/api/tasks/{task['id']}/data", params={"type": "chunk", "number": 0})
    assert chunk.status_code == 200
    # a bucket used by a task cannot be deleted from under it
    assert admin.delete(f"/api/cloudstorages/{cid}").status_code == 409


def test_missing_bucket_key_fails(app, admin, s3_server, bucket_prefix) -> None:  # type: ignore[no-untyped-def]
    cid = admin.post("/api/cloudstorages", json=_spec(s3_server, bucket_prefix)).json()["id"]
    task = new_task(admin)
    status = post_data(
        admin, task["id"], {"cloud_storage_id": cid, "server_files": ["img/a.jpg", "img/zzz.jpg"]}
    )
    assert status["status"] == "failed"
    assert "img/zzz.jpg" in status["message"]
