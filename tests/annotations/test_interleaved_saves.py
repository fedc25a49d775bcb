"""Two clients interleave PUT and PATCH on one job for 200 rounds: every save is applied or
refused (412), none is lost silently, and the job ends as the accepted saves say."""

from __future__ import annotations

import threading

from tests.conftest import Api

ROUNDS = 100  # per client: 200 in all


def test_interleaved_put_and_patch_lose_no_update(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=1)
    job = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    label = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"][1]
    url = f"/api/jobs/{job['id']}/annotations"
    start = admin.get(url).json()["version"]
    accepted: list[tuple[int, str, list[float]]] = []
    refused = [0]
    lock = threading.Lock()

    def box(x: float) -> dict:
        return {"type": "rectangle", "frame": 0, "label_id": label["id"], "points": [x, 1, 2, 3]}

    def client(kind: str, offset: int) -> None:
        api = Api(admin.app)
        api.cookies.update(admin.cookies)
        api.headers.update(admin.headers)
        for n in range(ROUNDS):
            version = api.get(url).json()["version"]
            x = float(offset + n)
            headers = {"If-Match": f'"{version}"'}
            if kind == "put":
                response = api.put(url, json={"shapes": [box(x)]}, headers=headers)
            else:
                response = api.patch(
                    url, params={"action": "create"}, json={"shapes": [box(x)]}, headers=headers
                )
            assert response.status_code in (200, 412), response.text
            with lock:
                if response.status_code == 200:
                    accepted.append((response.json()["version"], kind, [x]))
                else:
                    refused[0] += 1

    threads = [
        threading.Thread(target=client, args=("put", 0)),
        threading.Thread(target=client, args=("patch", 1000)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = admin.get(url).json()
    print(f"\ninterleaved saves: {len(accepted)} applied, {refused[0]} refused (412)")
    # No update lost: each accepted save took exactly one version.
    assert final["version"] - start == len(accepted)
    assert sorted(v for v, _, _ in accepted) == list(range(start + 1, final["version"] + 1))
    assert len(accepted) + refused[0] == 2 * ROUNDS
    # Replaying the accepted saves in version order gives exactly what the job holds.
    model: list[float] = []
    for _, kind, xs in sorted(accepted):
        model = xs if kind == "put" else model + xs
    assert sorted(s["points"][0] for s in final["shapes"]) == sorted(model)
