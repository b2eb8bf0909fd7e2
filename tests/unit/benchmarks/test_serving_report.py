"""The serving benchmark's table: ratios per peer, a failed peer reported with its reason."""

from __future__ import annotations

from benchmarks.serving import report

FALAJ = {"rps": 1000.0, "p50_ms": 10.0, "p99_ms": 20.0, "seq_p50_ms": 1.5, "rows1000_ms": 8.0}
MLFLOW = {"rps": 50.0, "p50_ms": 300.0, "p99_ms": 600.0, "seq_p50_ms": 9.0, "rows1000_ms": 40.0}


def test_ratios_say_how_many_times_better_falaj_is_and_failures_keep_their_reason() -> None:
    text = report({"Falaj": FALAJ, "MLflow": MLFLOW, "BentoML": "RuntimeError: no bentoml"}, 0.5)
    lines = {line.split("  ")[0]: line for line in text.splitlines()}
    assert lines["requests/s, 1 row, 16 connections"].split()[-3:] == ["50", "20.0x", "n/a"]
    assert "30.0x" in lines["p99 ms, 1 row, 16 connections"]
    assert "overhead over bare predict at p50" in text and "1.000 ms" in text
    assert "BentoML failed: RuntimeError: no bentoml" in text
