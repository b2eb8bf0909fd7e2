"""A load generator in its own process: ``python -m benchmarks._loadgen URL BODY_FILE
--concurrency 16 --seconds 10``. asyncio + httpx, one client with
``concurrency`` keep-alive connections;
prints one JSON line: requests/s, p50/p99 latency (ms), errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any


async def _worker(
    client: Any, url: str, body: bytes, until: float, lat: list[float], errors: list[int]
) -> None:
    headers = {"content-type": "application/json"}
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            r = await client.post(url, content=body, headers=headers)
            ok = r.status_code == 200
        except Exception:
            ok = False
        if ok:
            lat.append(time.perf_counter() - start)
        else:
            errors.append(1)


async def _run(
    url: str, body: bytes, concurrency: int, seconds: float, warmup: float
) -> dict[str, float]:
    import httpx

    # one client (one TLS context, built once) with a pool of ``concurrency`` keep-alive
    # connections, shared by the warm-up and the measurement
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        if warmup > 0:
            until = time.perf_counter() + warmup
            await asyncio.gather(
                *(_worker(client, url, body, until, [], []) for _ in range(concurrency))
            )
        lat: list[float] = []
        errors: list[int] = []
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(
            *(_worker(client, url, body, until, lat, errors) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - started
    lat.sort()

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {
        "rps": len(lat) / elapsed,
        "p50_ms": q(0.5),
        "p99_ms": q(0.99),
        "errors": len(errors),
        "n": len(lat),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("body")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    body = Path(args.body).read_bytes()
    result = asyncio.run(_run(args.url, body, args.concurrency, args.seconds, args.warmup))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
