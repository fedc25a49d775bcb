"""CVAT's annotation guides and assets: one guide per project or task, images in it."""

from __future__ import annotations

from tests.conftest import LABELS, png_bytes
from tests.helpers.sdk import sdk_validate


def _asset(
    client,
    guide_id: int,
    name: str = "arrow.png",
    data: bytes | None = None,  # type: ignore[no-untyped-def]
    kind: str = "image/png",
):
    return client.post(
        "/api/assets",
        data={"guide_id": str(guide_id)},
        files={"file": (name, data if data is not None else png_bytes(8, 8), kind)},
    )


def test_guides_of_projects_and_tasks(admin, make_user, task_with_data) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    project = alice.post("/api/projects", json={"name": "p", "labels": LABELS}).json()
    task = task_with_data(alice, frames=2, project_id=project["id"], name="t")
    made = alice.post("/api/guides", json={"project_id": project["id"], "markdown": "# Boxes"})
    assert made.status_code == 201, made.text
    guide = made.json()
    sdk_validate(guide, "AnnotationGuideRead")
    assert (guide["project_id"], guide["task_id"], guide["markdown"]) == (
        project["id"],
        None,
        "# Boxes",
    )
    assert alice.get(f"/api/projects/{project['id']}").json()["guide_id"] == guide["id"]
    job = alice.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    assert job["guide_id"] == guide["id"]  # a job shows its project's guide
    assert alice.get(f"/api/tasks/{task['id']}").json()["guide_id"] is None

    # One guide per project; exactly one of task_id/project_id.
    again = alice.post("/api/guides", json={"project_id": project["id"]})
    assert again.status_code == 409
    both = alice.post("/api/guides", json={"project_id": project["id"], "task_id": task["id"]})
    assert both.status_code == 400 and "Exactly one" in both.text
    own = alice.post("/api/guides", json={"task_id": task["id"], "markdown": "task rules"}).json()
    assert alice.get(f"/api/tasks/{task['id']}").json()["guide_id"] == own["id"]
    assert alice.get(f"/api/jobs/{job['id']}").json()["guide_id"] == own["id"]  # task's first

    patched = alice.patch(f"/api/guides/{guide['id']}", json={"markdown": "# Boxes, tight"})
    assert patched.status_code == 200 and patched.json()["markdown"] == "# Boxes, tight"
    assert patched.json()["updated_date"] >= guide["updated_date"]

    # Others: no sight of it (404), and no changes.
    bob = make_user("bob")
    assert bob.get(f"/api/guides/{guide['id']}").status_code == 404
    assert bob.patch(f"/api/guides/{guide['id']}", json={"markdown": "x"}).status_code == 404
    assert bob.post("/api/guides", json={"task_id": task["id"]}).status_code == 404
    assert admin.get(f"/api/guides/{guide['id']}").json()["markdown"] == "# Boxes, tight"

    # Deleting the task takes its guide along.
    assert alice.delete(f"/api/tasks/{task['id']}").status_code == 204
    assert alice.get(f"/api/guides/{own['id']}").status_code == 404
    assert alice.delete(f"/api/guides/{guide['id']}").status_code == 204
    assert alice.get(f"/api/guides/{guide['id']}").status_code == 404


def test_assets_of_a_guide(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    project = alice.post("/api/projects", json={"name": "p", "labels": LABELS}).json()
    guide = alice.post("/api/guides", json={"project_id": project["id"]}).json()
    image = png_bytes(9, 7)
    made = _asset(alice, guide["id"], "flèche.png", image)
    assert made.status_code == 201, made.text
    asset = made.json()
    sdk_validate(asset, "AssetRead")
    assert (asset["filename"], asset["guide_id"], asset["owner"]["username"]) == (
        "flèche.png",
        guide["id"],
        "alice",
    )
    got = alice.get(f"/api/assets/{asset['uuid']}")
    assert got.status_code == 200 and got.content == image
    assert got.headers["content-type"] == "image/png"
    alice.patch(
        f"/api/guides/{guide['id']}", json={"markdown": f"![arrow](/api/assets/{asset['uuid']})"}
    )

    # Not an image, too big, no guide: refused, and nothing kept.
    text = _asset(alice, guide["id"], "notes.txt", b"hello", "text/plain")
    assert text.status_code == 400 and "not supported" in text.text
    svg = _asset(alice, guide["id"], "x.svg", b"<svg onload='alert(1)'/>", "image/svg+xml")
    assert svg.status_code == 400  # served from our origin, an SVG could run script
    big = _asset(alice, guide["id"], "big.png", b"\0" * (10 * 1024 * 1024 + 1))
    assert big.status_code == 400 and "10 MB" in big.text
    none = alice.post("/api/assets", files={"file": ("a.png", image, "image/png")})
    assert none.status_code == 400 and "guide_id" in none.text
    bob = make_user("bob")
    assert _asset(bob, guide["id"]).status_code == 404
    assert bob.get(f"/api/assets/{asset['uuid']}").status_code == 404
    assert bob.delete(f"/api/assets/{asset['uuid']}").status_code == 404

    assert alice.delete(f"/api/assets/{asset['uuid']}").status_code == 204
    assert alice.get(f"/api/assets/{asset['uuid']}").status_code == 404
    second = _asset(alice, guide["id"]).json()
    assert alice.delete(f"/api/guides/{guide['id']}").status_code == 204
    assert admin.get(f"/api/assets/{second['uuid']}").status_code == 404  # went with it
