"""Cloud storage endpoints pass the remote-URL guard: no loopback or private address unless
LABELVAULT_CLOUD_ALLOWED_HOSTS lists it (moto on 127.0.0.1 is allowed that way)."""

from __future__ import annotations

import pytest

from tests.cloudstorages.test_cloudstorages_api import _spec

INTERNAL = [
    "http://127.0.0.1:{port}",
    "http://localhost:{port}",
    "http://[::1]:{port}",
    "http://2130706433:{port}",
    "http://0x7f.0.0.1:{port}",
    "http://169.254.169.254",
    "http://10.1.2.3:9000",
    "http://192.168.0.10",
    "http://[::ffff:127.0.0.1]:{port}",
]


@pytest.fixture
def no_allow_list(app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.state.settings, "cloud_allowed_hosts", "")


def test_internal_endpoints_are_refused_without_the_allow_list(
    app, make_user, s3_server, no_allow_list
) -> None:  # type: ignore[no-untyped-def]
    port = s3_server.endpoint.rsplit(":", 1)[1]
    user = make_user("prober")
    for spelling in INTERNAL:
        url = spelling.format(port=port)
        spec = _spec(s3_server, "x")
        spec["specific_attributes"] = f"endpoint_url={url}&prefix=x"
        response = user.post("/api/cloudstorages", json=spec)
        assert response.status_code == 400, (url, response.text)
        assert "LABELVAULT_CLOUD_ALLOWED_HOSTS" in response.json()["detail"], response.text
    azure = {
        "provider_type": "AZURE_CONTAINER",
        "resource": "container",
        "credentials_type": "CONNECTION_STRING",
        "connection_string": "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=Zm9v;"
        f"BlobEndpoint=http://127.0.0.1:{port}/a;",
    }
    response = user.post("/api/cloudstorages", json=azure)
    assert response.status_code == 400 and "127.0.0.1" in response.json()["detail"]
    assert user.get("/api/cloudstorages").json()["count"] == 0


def test_the_allow_list_lets_an_admin_attach_a_local_bucket_and_is_checked_on_use(
    app, admin, s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/cloudstorages", json=_spec(s3_server, "p"))
    assert response.status_code == 201, response.text
    cid = response.json()["id"]
    assert admin.get(f"/api/cloudstorages/{cid}/content-v2").status_code == 200
    # The allow-list shrinks: the saved row can no longer reach into the network.
    monkeypatch.setattr(app.state.settings, "cloud_allowed_hosts", "")
    app.state.cloud_storages.forget(cid)
    listing = admin.get(f"/api/cloudstorages/{cid}/content-v2")
    assert listing.status_code == 400, listing.text
    assert "private or local address" in listing.json()["detail"]
