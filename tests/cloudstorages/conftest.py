"""Fixtures for cloud storage tests: moto's S3 server on 127.0.0.1."""

from __future__ import annotations

from tests.helpers.servers import s3_server  # noqa: F401  (a fixture used as it is)
