"""A write that waits out SQLite's lock (a long restore holding it) gets a 503 to retry."""

from __future__ import annotations

import sqlite3

import pytest


def test_write_under_a_held_lock_is_503_and_nothing_is_written(login, database) -> None:  # type: ignore[no-untyped-def]
    if not database.is_sqlite:
        pytest.skip("PostgreSQL has row locks: writers to other rows never wait on one")
    api = login()
    holder = sqlite3.connect(database.url.removeprefix("sqlite:///"))
    holder.execute("BEGIN IMMEDIATE")  # as a long restore's transaction holds it
    try:
        reply = api.post("/api/projects", json={"name": "waits", "labels": [{"name": "a"}]})
        # Reads go on beside the writer (WAL).
        listed = api.get("/api/projects")
    finally:
        holder.rollback()
        holder.close()
    assert reply.status_code == 503, reply.text
    assert reply.headers["Retry-After"] == "5"
    assert "busy" in reply.json()["detail"] and "try again" in reply.json()["detail"]
    assert listed.status_code == 200
    assert api.get("/api/projects").json()["count"] == 0
    assert api.post("/api/projects", json={"name": "after", "labels": []}).status_code == 201
