"""Exports to a cloud storage (location=cloud_storage): the file lands in the bucket."""

from __future__ import annotations

import io
import zipfile

import boto3

from tests.cloudstorages.test_cloudstorages_api import _spec, bucket_prefix  # noqa: F401
from tests.helpers.sdk import sdk_validate
from tests.helpers.servers import S3_BUCKET, S3_REGION


def _bucket(s3_server):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name=S3_REGION,
        aws_access_key_id=s3_server.key,
        aws_secret_access_key=s3_server.secret,
    )


def test_dataset_and_backup_exports_go_to_the_cloud_storage(  # type: ignore[no-untyped-def]
    admin,
    make_user,
    task_with_data,
    s3_server,
    bucket_prefix,  # noqa: F811
) -> None:
    cloud = admin.post("/api/cloudstorages", json=_spec(s3_server, bucket_prefix)).json()
    task = task_with_data(frames=2, name="to the cloud")
    query = {
        "format": "COCO 1.0",
        "location": "cloud_storage",
        "cloud_storage_id": cloud["id"],
        "filename": "exports/coco.zip",
    }
    started = admin.post(f"/api/tasks/{task['id']}/dataset/export", params=query)
    assert started.status_code == 202, started.text
    done = admin.get(f"/api/requests/{started.json()['rq_id']}").json()
    assert done["status"] == "finished", done
    assert done["result_url"] is None
    assert done["message"] == f"Exported to cloud storage #{cloud['id']} as exports/coco.zip"
    sdk_validate(done, "Request")
    s3 = _bucket(s3_server)
    body = s3.get_object(Bucket=S3_BUCKET, Key=f"{bucket_prefix}/exports/coco.zip")["Body"]
    with zipfile.ZipFile(io.BytesIO(body.read())) as zf:
        assert any(n.endswith(".json") for n in zf.namelist())

    # A backup without a file name gets the name a download would have.
    backup = admin.post(
        f"/api/tasks/{task['id']}/backup/export",
        params={"location": "cloud_storage", "cloud_storage_id": cloud["id"]},
    )
    assert backup.status_code == 202, backup.text
    done = admin.get(f"/api/requests/{backup.json()['rq_id']}").json()
    assert done["status"] == "finished", done
    name = done["message"].rsplit(" as ", 1)[1]
    assert name.endswith(".zip") and "backup" in name
    body = s3.get_object(Bucket=S3_BUCKET, Key=f"{bucket_prefix}/{name}")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert "task.json" in zf.namelist()

    # Refusals name what to fix, and start nothing.
    url = f"/api/tasks/{task['id']}/dataset/export"
    bad = {"format": "COCO 1.0", "location": "cloud_storage"}
    assert "cloud_storage_id" in admin.post(url, params=bad).json()["detail"]
    wrong = admin.post(url, params={**bad, "location": "ftp"})
    assert wrong.status_code == 400 and "location" in wrong.json()["detail"]
    climb = admin.post(url, params={**bad, "cloud_storage_id": cloud["id"], "filename": "../x.zip"})
    assert climb.status_code == 400 and "filename" in climb.json()["detail"]
    other = make_user("outsider")
    task_with_data(other, frames=1, name="theirs")
    own = [t for t in other.get("/api/tasks").json()["results"] if t["name"] == "theirs"][0]
    refused = other.post(
        f"/api/tasks/{own['id']}/dataset/export",
        params={**bad, "cloud_storage_id": cloud["id"]},
    )
    assert refused.status_code == 404 and "cloud storage" in refused.json()["detail"]
    listed = s3.list_objects_v2(Bucket=S3_BUCKET, Prefix=f"{bucket_prefix}/")["Contents"]
    keys = sorted(o["Key"].split("/", 1)[1] for o in listed)
    assert [k for k in keys if not k.startswith("img/") and k != "readme.txt"] == sorted(
        ["exports/coco.zip", name]
    )
