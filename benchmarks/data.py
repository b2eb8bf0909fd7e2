"""Data benchmark: profiling 1M rows x 30 columns, Falaj (DuckDB over Arrow) against pandas.

Both sides start from the same in-memory data. The pandas baseline computes what a data engineer
would type for a profile: ``describe()`` with the same quantiles, ``isna().mean()``,
``nunique()`` and ``value_counts()`` of every text column. Falaj's profile computes all of that
plus a 20-bin histogram per numeric column and the complete category lists, and starts from an
Arrow table (``pa.Table.from_pandas``, timed as part of Falaj's side). The content hash of the
same table (the dataset version's identity) is timed too.

Run: ``python -m benchmarks.data [--rows N]`` (default 1,000,000).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

N_ROWS = 1_000_000
N_NUMERIC = 20
N_TEXT = 10


def make_frame(rows: int, seed: int = 0) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for i in range(N_NUMERIC):
        if i % 2:
            data[f"num_{i}"] = rng.normal(100 * i, 10 + i, rows)
        else:
            data[f"int_{i}"] = rng.integers(0, 1000 * (i + 1), rows)
    for i in range(N_TEXT):
        categories = np.array([f"cat_{i}_{k}" for k in range(5 + 5 * i)], dtype=object)
        data[f"text_{i}"] = categories[rng.integers(0, len(categories), rows)]
    frame = pd.DataFrame(data)
    frame.loc[frame.sample(frac=0.02, random_state=seed).index, "num_1"] = np.nan
    return frame


def _timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def pandas_profile(frame: Any) -> dict[str, Any]:
    text = [c for c in frame.columns if frame[c].dtype == object]
    return {
        "describe": frame.describe(percentiles=[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]),
        "null_rate": frame.isna().mean(),
        "distinct": frame.nunique(),
        "top": {c: frame[c].value_counts() for c in text},
    }


def falaj_profile(frame: Any) -> Any:
    import pyarrow as pa

    from falaj.data.profile import profile_table

    return profile_table(pa.Table.from_pandas(frame, preserve_index=False))


def falaj_hash(table: Any) -> str:
    from falaj.data.content_hash import ContentHasher

    hasher = ContentHasher(table.schema)
    for batch in table.to_batches(max_chunksize=65_536):
        hasher.update(batch)
    return hasher.hexdigest()


def main(argv: list[str] | None = None) -> None:
    import pyarrow as pa

    args = list(sys.argv[1:] if argv is None else argv)
    rows = int(args[args.index("--rows") + 1]) if "--rows" in args else N_ROWS
    frame = make_frame(rows)
    print(
        f"profiling {rows:,} rows x {frame.shape[1]} columns ({N_NUMERIC} numeric, {N_TEXT} text)"
    )
    falaj_profile(frame.head(1000))  # warm-up: imports and DuckDB start-up
    pandas_s, _ = _timed(lambda: pandas_profile(frame))
    falaj_s, profile = _timed(lambda: falaj_profile(frame))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    hash_s, _ = _timed(lambda: falaj_hash(table))
    assert profile.row_count == rows
    assert abs(profile.columns["num_1"].null_rate - 0.02) < 1e-9
    width = 56
    print(f"{'':{width}}seconds")
    print(f"{'pandas describe + isna + nunique + value_counts':{width}}{pandas_s:7.2f}")
    print(f"{'falaj profile (DuckDB over Arrow, + histograms)':{width}}{falaj_s:7.2f}")
    print(f"{'falaj content hash (version identity)':{width}}{hash_s:7.2f}")
    print(f"ratio pandas / falaj profile: {pandas_s / falaj_s:.2f}x")


if __name__ == "__main__":
    main()
