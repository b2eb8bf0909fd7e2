"""SqlSource against the real PostgreSQL server (FALAJ_TEST_POSTGRES_URL)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pytest
import sqlalchemy as sa

from falaj.data.errors import SourceUnavailableError
from falaj.data.sources import SqlSource
from falaj.workspace import Workspace


@pytest.fixture
def loans_url(pg_url: str) -> str:
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE loans (id integer, amount numeric(10,2), purpose text, "
                "opened timestamptz, paid boolean)"
            )
        )
        conn.execute(
            sa.text("INSERT INTO loans VALUES (:id, :amount, :purpose, :opened, :paid)"),
            [
                {
                    "id": i,
                    "amount": None if i % 7 == 0 else i * 12.5,
                    "purpose": ["car", "home", "education"][i % 3],
                    "opened": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i),
                    "paid": i % 2 == 0,
                }
                for i in range(250)
            ],
        )
    engine.dispose()
    return pg_url


def test_sql_source_streams_postgresql_rows_in_chunks(loans_url: str) -> None:
    import pyarrow as pa

    source = SqlSource("SELECT * FROM loans ORDER BY id", loans_url, chunk_size=40)
    batches = list(source.iter_batches())
    assert [b.num_rows for b in batches] == [40] * 6 + [10]
    frame = pa.Table.from_batches(batches).to_pandas()
    assert frame["id"].tolist() == list(range(250))
    assert frame["amount"].isna().sum() == 36
    assert frame["amount"].iloc[3] == 37.5
    assert str(batches[0].schema.field("opened").type).startswith("timestamp[us, tz=")


def test_registering_a_postgresql_query_gives_a_loadable_version(
    ws: Workspace, loans_url: str
) -> None:
    source = SqlSource("SELECT id, purpose, paid FROM loans ORDER BY id", loans_url, chunk_size=64)
    v = ws.datasets.register("loans", source)
    assert v.row_count == 250 and v.source["kind"] == "sql"
    again = ws.datasets.register("loans", SqlSource(source.query, loans_url, chunk_size=7))
    assert again.id == v.id
    frame = ws.datasets.load(v.id)
    assert frame["purpose"].value_counts().to_dict() == {"car": 84, "home": 83, "education": 83}


def test_credentials_never_reach_metadata_audit_or_errors(ws: Workspace, loans_url: str) -> None:
    parts = urlsplit(loans_url)
    user = parts.username or "postgres"
    host = parts.netloc.rsplit("@", 1)[-1]
    with_password = urlunsplit(parts._replace(netloc=f"{user}:hunter2-secret@{host}"))
    v = ws.datasets.register("loans", SqlSource("SELECT id FROM loans", with_password))
    assert "hunter2" not in str(v.as_dict())
    assert all("hunter2" not in str(e.details) for e in ws.audit.list())
    bad = SqlSource("SELECT * FROM no_such_table", with_password)
    with pytest.raises(SourceUnavailableError, match="no_such_table") as info:
        ws.datasets.register("loans", bad)
    assert "hunter2" not in str(info.value)
    assert pd.notna(v.created_at)
