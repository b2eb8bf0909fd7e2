"""A load generator in its own process: ``python -m benchmarks._loadgen URL BODY_FILE
--concurrency 16 --seconds 10``. ``concurrency`` keep-alive HTTP/1.1 connections on raw asyncio
streams (uvloop when installed);
prints one JSON line: requests/s, p50/p99 latency (ms), errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit


async def _connection(
    host: str, port: int, request: bytes, until: float, lat: list[float], errors: list[int]
) -> None:
    """One keep-alive HTTP/1.1 connection sending ``request`` back to back until ``until``.

    Raw asyncio streams with the request bytes built once: the client costs little CPU, so on a
    small machine the load generator is not the bottleneck it is with a full HTTP client.
    """
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            chunked = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                key = name.strip().lower()
                if key == "content-length":
                    length = int(value.strip())
                elif key == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if chunked:
                while True:
                    size = int((await reader.readline()).strip() or b"0", 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                await reader.readexactly(length)
            if status_line.split(b" ", 2)[1:2] == [b"200"]:
                lat.append(time.perf_counter() - start)
            else:
                errors.append(1)
    finally:
        writer.close()


async def _run(
    url: str, body: bytes, concurrency: int, seconds: float, warmup: float
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    if warmup > 0:
        until = time.perf_counter() + warmup
        await asyncio.gather(
            *(_connection(host, port, request, until, [], []) for _ in range(concurrency))
        )
    lat: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(_connection(host, port, request, until, lat, errors) for _ in range(concurrency))
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
    factory = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(_run(args.url, body, args.concurrency, args.seconds, args.warmup))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
