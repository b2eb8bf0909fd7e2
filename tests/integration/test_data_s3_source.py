"""CSV and Parquet sources over s3:// (moto's S3 server on loopback, spoken to over real HTTP)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from falaj.data.sources import CsvSource, ParquetSource
from falaj.workspace import Workspace
from tests.contract.conftest import s3_endpoint, s3_options

__all__ = ["s3_endpoint"]


@pytest.fixture
def bucket(s3_endpoint: str) -> tuple[str, dict[str, Any]]:
    import boto3

    name = "falaj-data-sources"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    if name not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="loans.csv", Body=b"id,amount\n1,10.5\n2,20.0\n3,7.25\n")
    frame = pd.DataFrame({"id": [1, 2, 3], "amount": [10.5, 20.0, 7.25]})
    client.put_object(Bucket=name, Key="loans.parquet", Body=frame.to_parquet(index=False))
    return name, s3_options(s3_endpoint)


def test_csv_and_parquet_on_s3_register_as_the_same_version(
    ws: Workspace, bucket: tuple[str, dict[str, Any]]
) -> None:
    name, options = bucket
    from_csv = ws.datasets.register(
        "loans", CsvSource(f"s3://{name}/loans.csv", storage_options=options)
    )
    from_parquet = ws.datasets.register(
        "loans", ParquetSource(f"s3://{name}/loans.parquet", storage_options=options)
    )
    assert from_csv.id == from_parquet.id == "loans@1"
    assert from_csv.source == {"kind": "csv", "uri": f"s3://{name}/loans.csv"}
    assert ws.datasets.load("loans@1")["amount"].tolist() == [10.5, 20.0, 7.25]


def test_credentials_in_an_s3_uri_are_not_stored(
    ws: Workspace, bucket: tuple[str, dict[str, Any]]
) -> None:
    name, options = bucket
    source = CsvSource(f"s3://AKIAEXAMPLE:topsecret@{name}/loans.csv", storage_options=options)
    assert source.describe()["uri"] == f"s3://{name}/loans.csv"
    assert "topsecret" not in (source.lineage_id() or "")


def test_an_unreachable_s3_endpoint_is_one_clear_error_without_the_secret() -> None:
    import socket

    from falaj.data.errors import SourceUnavailableError

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {
        "key": "AKIAEXAMPLE",
        "secret": "topsecret",
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"},
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2},
    }
    uri = "s3://bucket/loans.csv?X-Amz-Signature=sig-secret"
    with pytest.raises(SourceUnavailableError) as info:
        list(CsvSource(uri, storage_options=options).iter_batches())
    message = str(info.value)
    assert message.startswith("source s3://bucket/loans.csv?X-Amz-Signature=*** cannot be read: ")
    assert "EndpointConnectionError" in message
    assert "sig-secret" not in message and "topsecret" not in message
