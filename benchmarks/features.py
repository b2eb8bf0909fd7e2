"""Feature store: Falaj vs Feast (SQLite online store, file offline store) on the same data.

Workload (generated once, seeded): 100,000 entities x 10 float features, 3 events each over
30 days (300,000 source rows, one Parquet file).

1. materialize: the latest values of every entity into the online store (Falaj: ``ws.features
   .materialize``; Feast: ``store.materialize``), wall time;
2. online lookup of 1 and of 100 entities, p50/p99 over 1,000 calls: Falaj in process (the
   ``FeatureLookup`` serving hook, and ``get_online`` returning a DataFrame) and over HTTP
   (``falaj.features.http`` on uvicorn, keep-alive client); Feast ``get_online_features``
   in process; bare ``sqlite3`` (10 REAL columns, primary-key ``SELECT``) as the floor;
3. historical retrieval for 1,000,000 entity-timestamp rows: wall time, peak RSS of the process
   (each side in a fresh process, ``wait4``'s ``ru_maxrss``), and rows returned.

Feast is installed into ``.venv-feast`` (once) and run there in subprocesses; if it cannot be
installed or fails, its column says so with the reason and the rest still runs.

Targets (issue 17): materialize 10x Feast; historical 5x Feast with all 1M rows returned; online
within 3x of bare sqlite3 and 10x faster than Feast for 100 entities.

Run: ``python -m benchmarks.features``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from benchmarks._peer import reason_of

ROOT = Path(__file__).resolve().parents[1]
FEAST_VENV = ROOT / ".venv-feast"
FEAST_VERSION = "0.67.0"
ENTITIES = int(os.environ.get("FALAJ_BENCH_FEATURE_ENTITIES", "100000"))
HIST_ROWS = int(os.environ.get("FALAJ_BENCH_FEATURE_HIST_ROWS", "1000000"))
CALLS = 1000
N_FEATURES = 10
#: the events span the 30 days before yesterday, so online values are fresh when read today
DAY0 = (dt.date.today() - dt.timedelta(days=31)).isoformat()

_COMMON = (
    textwrap.dedent(
        """
    import datetime as dt, json, sys, time
    import numpy as np, pandas as pd
    DAY0 = pd.Timestamp("__DAY0__", tz="UTC")
    END = DAY0 + pd.Timedelta(days=30)
    FEATURES = [f"f{i}" for i in range(__N__)]

    def pct(values, q):
        return float(np.percentile(np.array(values) * 1000.0, q))

    def entity_df(rows, entities):
        rng = np.random.default_rng(11)
        return pd.DataFrame({
            "customer_id": rng.integers(0, entities * 11 // 10, rows),  # ~9% match nothing
            "event_timestamp": DAY0 + pd.to_timedelta(rng.uniform(0, 35, rows), unit="D"),
        })
    """
    )
    .replace("__DAY0__", DAY0)
    .replace("__N__", str(N_FEATURES))
)

_FALAJ = _COMMON + textwrap.dedent(
    """
    from falaj.workspace import Workspace
    from falaj.features import Entity, FeatureView
    step, home, parquet, entities = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    refs = [f"cust_stats:{f}" for f in FEATURES]
    out = {}
    if step == "setup":
        from falaj.data.sources import ParquetSource
        with Workspace.init(home) as ws:
            ws.datasets.register("cust_events", ParquetSource(parquet))
            ws.features.apply([
                Entity("customer", join_keys=["customer_id"]),
                FeatureView("cust_stats", entities=["customer"], source="cust_events",
                            timestamp="event_ts", features={f: "float64" for f in FEATURES},
                            ttl="40d"),
            ])
            t = time.perf_counter()
            [r] = ws.features.materialize(end=END.to_pydatetime(), full=True)
            out["materialize_s"] = time.perf_counter() - t
            out["materialized_rows"] = r.rows_written
    elif step == "online":
        import threading, httpx, uvicorn, socket
        from falaj.features.http import app
        with Workspace.open(home) as ws:
            fs = ws.features
            lookup = fs.lookup(refs)
            rng = np.random.default_rng(3)
            ones = [int(x) for x in rng.integers(0, entities, __CALLS__)]
            hundreds = [[int(x) for x in rng.integers(0, entities, 100)] for _ in range(__CALLS__)]
            for name, fn, args in (
                ("lookup_1", lambda k: lookup({"customer_id": k}), ones),
                ("lookup_100", lambda ks: lookup.many({"customer_id": ks}), hundreds),
                ("get_online_df_1", lambda k: fs.get_online({"customer_id": [k]}, refs), ones),
                ("get_online_df_100",
                 lambda ks: fs.get_online({"customer_id": ks}, refs), hundreds),
            ):
                for a in args[:50]:
                    fn(a)
                times = []
                for a in args:
                    t = time.perf_counter(); fn(a); times.append(time.perf_counter() - t)
                out[name + "_p50_ms"] = pct(times, 50); out[name + "_p99_ms"] = pct(times, 99)
            probe = lookup({"customer_id": ones[0]})
            out["fresh_1"] = bool(probe["cust_stats__fresh"])
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(app(ws), host="127.0.0.1", port=port,
                                                   log_level="warning"))
            th = threading.Thread(target=server.run, daemon=True); th.start()
            deadline = time.monotonic() + 60
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.05)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                for name, args in (("http_1", [[k] for k in ones]), ("http_100", hundreds)):
                    body = lambda a: {"entities": {"customer_id": a}, "features": refs}
                    for a in args[:50]:
                        client.post("/features/online", json=body(a))
                    times = []
                    for a in args:
                        t = time.perf_counter()
                        r = client.post("/features/online", json=body(a))
                        times.append(time.perf_counter() - t)
                        assert r.status_code == 200, r.text
                    out[name + "_p50_ms"] = pct(times, 50); out[name + "_p99_ms"] = pct(times, 99)
            server.should_exit = True; th.join(timeout=30)
    elif step == "historical":
        rows = int(sys.argv[5])
        df = entity_df(rows, entities)
        with Workspace.open(home) as ws:
            t = time.perf_counter()
            res = ws.features.get_historical(df, features=refs)
            out["historical_s"] = time.perf_counter() - t
            out["historical_rows"] = len(res)
            out["historical_matched"] = int(res["f0"].notna().sum())
    print("RESULT " + json.dumps(out))
    """
).replace("__CALLS__", str(CALLS))

_FEAST = _COMMON + textwrap.dedent(
    """
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64
    step, repo, parquet, entities = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    out = {}
    store = FeatureStore(repo_path=repo)
    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="cust_stats", entities=[customer], ttl=dt.timedelta(days=40),
        schema=[Field(name=f, dtype=Float64) for f in FEATURES],
        source=FileSource(path=parquet, timestamp_field="event_ts"),
    )
    refs = [f"cust_stats:{f}" for f in FEATURES]
    if step == "setup":
        store.apply([customer, view])
        t = time.perf_counter()
        store.materialize(start_date=(DAY0 - pd.Timedelta(days=1)).to_pydatetime(),
                          end_date=END.to_pydatetime())
        out["materialize_s"] = time.perf_counter() - t
    elif step == "online":
        rng = np.random.default_rng(3)
        ones = [int(x) for x in rng.integers(0, entities, __CALLS__)]
        hundreds = [[int(x) for x in rng.integers(0, entities, 100)] for _ in range(__CALLS__)]
        for name, args in (("lookup_1", [[k] for k in ones]), ("lookup_100", hundreds)):
            call = lambda ks: store.get_online_features(
                features=refs, entity_rows=[{"customer_id": k} for k in ks]).to_dict()
            for a in args[:50]:
                call(a)
            times = []
            for a in args:
                t = time.perf_counter(); call(a); times.append(time.perf_counter() - t)
            out[name + "_p50_ms"] = pct(times, 50); out[name + "_p99_ms"] = pct(times, 99)
    elif step == "historical":
        rows = int(sys.argv[5])
        df = entity_df(rows, entities)
        t = time.perf_counter()
        res = store.get_historical_features(entity_df=df, features=refs).to_df()
        out["historical_s"] = time.perf_counter() - t
        out["historical_rows"] = len(res)
        out["historical_matched"] = int(res["f0"].notna().sum())
    print("RESULT " + json.dumps(out))
    """
).replace("__CALLS__", str(CALLS))

_FEAST_YAML = """\
project: bench
registry: {repo}/registry.db
provider: local
online_store:
  type: sqlite
  path: {repo}/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


def _make_data(path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = ENTITIES * 3
    frame = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(ENTITIES, dtype="int64"), 3),
            "event_ts": pd.Timestamp(DAY0, tz="UTC")
            + pd.to_timedelta(rng.uniform(0, 30, n), unit="D"),
        }
    )
    for i in range(N_FEATURES):
        frame[f"f{i}"] = rng.normal(size=n)
    frame.to_parquet(path, index=False)


def _child(
    python: str, script: str, args: list[str], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``script`` in a fresh process; its RESULT line plus its peak RSS (MiB)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        [python, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"exit {code}: {err.strip()[-600:]}")
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"no result: {err.strip()[-600:]}")
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    result["peak_rss_mib"] = usage.ru_maxrss / 1024.0
    return result


def _ensure_feast() -> tuple[str | None, str | None]:
    python = FEAST_VENV / "bin" / "python"
    check = [str(python), "-c", f"import feast; assert feast.__version__ == '{FEAST_VERSION}'"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python), None
    print(f"creating .venv-feast with Feast {FEAST_VERSION} (once)...", flush=True)
    base = Path(sys.base_prefix) / "bin" / "python3"
    try:
        subprocess.run([str(base), "-m", "venv", str(FEAST_VENV)], check=True, timeout=300)
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"feast=={FEAST_VERSION}"],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, reason_of(exc)
    if install.returncode != 0 or subprocess.run(check, capture_output=True).returncode != 0:
        tail = (install.stderr or install.stdout).strip().splitlines()[-1:] or ["unknown"]
        return None, f"Feast could not be installed: {tail[0][:200]}"
    return str(python), None


def bare_sqlite(path: Path, parquet: Path) -> dict[str, float]:
    """The floor: 10 REAL columns keyed by id, executemany insert, SELECT by primary key."""
    import sqlite3

    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(parquet).to_pandas()
    latest = table.sort_values("event_ts").groupby("customer_id").tail(1)
    rows = list(
        latest[["customer_id", *[f"f{i}" for i in range(N_FEATURES)]]].itertuples(
            index=False, name=None
        )
    )
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    cols = ", ".join(f"f{i} REAL" for i in range(N_FEATURES))
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {cols})")
    marks = ", ".join("?" * (N_FEATURES + 1))
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO t VALUES ({marks})", rows)
    conn.execute("COMMIT")
    out = {"materialize_s": time.perf_counter() - started}
    rng = np.random.default_rng(3)
    ones = [int(x) for x in rng.integers(0, ENTITIES, CALLS)]
    hundreds = [[int(x) for x in rng.integers(0, ENTITIES, 100)] for _ in range(CALLS)]
    times = []
    for k in ones:
        t = time.perf_counter()
        conn.execute("SELECT * FROM t WHERE id = ?", (k,)).fetchall()
        times.append(time.perf_counter() - t)
    out["lookup_1_p50_ms"] = float(np.percentile(times, 50) * 1000)
    out["lookup_1_p99_ms"] = float(np.percentile(times, 99) * 1000)
    q100 = f"SELECT * FROM t WHERE id IN ({', '.join('?' * 100)})"
    times = []
    for ks in hundreds:
        t = time.perf_counter()
        conn.execute(q100, ks).fetchall()
        times.append(time.perf_counter() - t)
    out["lookup_100_p50_ms"] = float(np.percentile(times, 50) * 1000)
    out["lookup_100_p99_ms"] = float(np.percentile(times, 99) * 1000)
    conn.close()
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def report(
    falaj: dict[str, Any], feast: dict[str, Any] | None, floor: dict[str, float], why: str | None
) -> None:
    print()
    print(
        f"{'measure':<40}{'Falaj':>12}{'Feast':>12}{'sqlite3':>10}{'Feast/Falaj':>13}{'Falaj/sqlite3':>15}"
    )
    keys = [
        "materialize_s",
        "lookup_1_p50_ms",
        "lookup_1_p99_ms",
        "lookup_100_p50_ms",
        "lookup_100_p99_ms",
        "get_online_df_1_p50_ms",
        "get_online_df_100_p50_ms",
        "http_1_p50_ms",
        "http_1_p99_ms",
        "http_100_p50_ms",
        "http_100_p99_ms",
        "historical_s",
        "historical_peak_rss_mib",
        "historical_rows",
        "historical_matched",
    ]
    for key in keys:
        ours = falaj.get(key)
        theirs = feast.get(key) if feast else None
        bare = floor.get(key)
        ratio = (
            f"{theirs / ours:.1f}x"
            if isinstance(ours, float) and isinstance(theirs, float) and ours
            else ""
        )
        vs_floor = f"{ours / bare:.1f}x" if isinstance(ours, float) and bare else ""
        print(
            f"{key:<40}{_fmt(ours):>12}{_fmt(theirs):>12}{_fmt(bare):>10}{ratio:>13}{vs_floor:>15}"
        )
    if feast is None:
        print(f"Feast: n/a ({why})")
    print(
        "targets: materialize >= 10x Feast; historical >= 5x Feast with every row returned; "
        "online lookup <= 3x sqlite3 and >= 10x Feast for 100 entities"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="falaj-bench-features-") as tmp_name:
        tmp = Path(tmp_name)
        parquet = tmp / "events.parquet"
        print(f"generating {ENTITIES:,} entities x {N_FEATURES} features x 3 events...", flush=True)
        _make_data(parquet)
        print("bare sqlite3 floor...", flush=True)
        floor = bare_sqlite(tmp / "bare.db", parquet)
        home = str(tmp / "falaj")
        args = [home, str(parquet), str(ENTITIES)]
        print("Falaj: register, apply, materialize...", flush=True)
        falaj = _child(sys.executable, _FALAJ, ["setup", *args])
        print("Falaj: online lookups...", flush=True)
        falaj.update(_child(sys.executable, _FALAJ, ["online", *args]))
        print(f"Falaj: historical retrieval of {HIST_ROWS:,} rows...", flush=True)
        hist = _child(sys.executable, _FALAJ, ["historical", *args, str(HIST_ROWS)])
        falaj.update(hist)
        falaj["historical_peak_rss_mib"] = hist["peak_rss_mib"]
        feast: dict[str, Any] | None = None
        python, why = _ensure_feast()
        if python is not None:
            repo = tmp / "feast"
            repo.mkdir()
            (repo / "feature_store.yaml").write_text(_FEAST_YAML.format(repo=repo))
            fargs = [str(repo), str(parquet), str(ENTITIES)]
            try:
                print("Feast: apply, materialize...", flush=True)
                feast = _child(python, _FEAST, ["setup", *fargs])
                print("Feast: online lookups...", flush=True)
                feast.update(_child(python, _FEAST, ["online", *fargs]))
                print(f"Feast: historical retrieval of {HIST_ROWS:,} rows...", flush=True)
                fhist = _child(python, _FEAST, ["historical", *fargs, str(HIST_ROWS)])
                feast.update(fhist)
                feast["historical_peak_rss_mib"] = fhist["peak_rss_mib"]
            except Exception as exc:  # the peer's failure is a result, reported with its reason
                why = f"Feast failed: {reason_of(exc)}"
                print(why, flush=True)
        report(falaj, feast, floor, why)


if __name__ == "__main__":
    main()
