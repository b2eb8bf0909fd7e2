"""Remote datasets: list, get, register a DataFrame or a file, load."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from falaj.client.codec import from_jsonable
from falaj.client.http import Http, RemotePart
from falaj.client.tracking import q
from falaj.data.versions import DatasetVersion
from falaj.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RemoteDatasets"]


class RemoteDatasets(RemotePart):
    """``ws.datasets`` of a remote workspace."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def latest_versions(self) -> list[DatasetVersion]:
        return [from_jsonable(DatasetVersion, d) for d in self._http.get("/datasets")]

    def versions(self, name: str) -> list[DatasetVersion]:
        return [from_jsonable(DatasetVersion, d) for d in self._http.get(f"/datasets/{q(name)}")]

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """A version (``get("credit", 2)`` or ``get("credit@2")``); the latest when not given."""
        if version is None and "@" in name:
            name, _, number = name.rpartition("@")
            if not number.isdigit():
                raise InvalidInputError(
                    f"dataset version {name}@{number} is invalid: expected NAME@NUMBER"
                )
            version = int(number)
        if version is None:
            found = self.versions(name)
            return max(found, key=lambda d: d.version)
        return from_jsonable(
            DatasetVersion, self._http.get(f"/datasets/{q(name)}/versions/{version}")
        )

    def register(
        self,
        name: str,
        data: pd.DataFrame | str | Path,
        *,
        description: str | None = None,
        **options: Any,
    ) -> DatasetVersion:
        """Register a DataFrame (sent as Parquet) or a ``.csv``/``.parquet`` file (streamed)."""
        import pandas as pd

        if options:
            raise InvalidInputError(
                f"option(s) {', '.join(sorted(options))} are not supported by a remote workspace"
            )
        params: dict[str, Any] = {}
        if description is not None:
            params["description"] = description
        if isinstance(data, pd.DataFrame):
            buffer = io.BytesIO()
            data.to_parquet(buffer, index=False)
            params["format"] = "parquet"
            answer = self._http.post(
                f"/datasets/{q(name)}", content=buffer.getvalue(), params=params
            )
            return from_jsonable(DatasetVersion, answer)
        path = Path(data)
        suffix = path.suffix.lower().lstrip(".")
        if suffix not in ("csv", "parquet") or not path.is_file():
            raise InvalidInputError(
                f"dataset file {path} is invalid: expected an existing .csv or .parquet file "
                "(or a pandas DataFrame)"
            )
        params["format"] = suffix
        with path.open("rb") as handle:
            answer = self._http.post(f"/datasets/{q(name)}", content=handle, params=params)
        return from_jsonable(DatasetVersion, answer)

    def validation_status(self, dataset_version_id: str) -> str | None:
        name, _, number = dataset_version_id.rpartition("@")
        data = self._http.get(f"/datasets/{q(name)}/versions/{q(number)}/validation")
        status = data.get("status")
        return None if status is None else str(status)

    def load(self, name: str, version: int | None = None) -> pd.DataFrame:
        """The version's rows (downloaded as Parquet)."""
        import pandas as pd

        dv = self.get(name, version)
        response = self._http.request("GET", f"/datasets/{q(name)}/versions/{dv.version}/data")
        return pd.read_parquet(io.BytesIO(response.content))
