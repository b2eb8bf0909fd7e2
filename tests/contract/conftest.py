"""Object-store backends for the artifact contract suite."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from falaj.artifacts import ObjectStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible HTTP endpoint on loopback (moto's server), spoken to over real HTTP."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_options(endpoint: str) -> dict[str, Any]:
    return {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        "skip_instance_cache": True,
    }


@pytest.fixture(
    params=["file", "memory", "s3", "file-encrypted", "memory-encrypted", "s3-encrypted"]
)
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Every artifact backend, plaintext and envelope-encrypted: one contract for all."""
    kind, _, encrypted = str(request.param).partition("-")
    options: dict[str, Any] = {}
    if kind == "file":
        uri = (tmp_path / "objects").as_uri()
    elif kind == "memory":
        uri = f"memory://falaj-{tmp_path.name}"
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        import boto3

        bucket = f"falaj-{tmp_path.name.lower().replace('_', '-')[:40]}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket=bucket)
        uri = f"s3://{bucket}/artifacts"
        options = s3_options(endpoint)
    if encrypted:
        from falaj.artifacts.encryption import EncryptedObjectStore
        from falaj.governance.kms import FileKeyProvider

        keys = FileKeyProvider(tmp_path / "master-keys")
        return EncryptedObjectStore(uri, keys=keys, **options)
    return ObjectStore(uri, **options)
