"""An open-loop load at a fixed rate, latency measured from when each request was due.

Why not wrk: it sends the next request when the last answer arrives (a closed loop), so a
slow answer delays the requests behind it and they are never counted as late (coordinated
omission); wrk2, which fixes that, is not packaged here. This client schedules request i at
start + i / rate and measures each latency from that moment, whether or not a connection was
free then, over a pool of keep-alive HTTP/1.1 connections (asyncio streams, no HTTP library
in the way).

    .venv/bin/python -m bench.fixed_rate --port 8000 --path /health --rate 200 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["FixedRateResult", "fixed_rate"]


@dataclass(frozen=True)
class FixedRateResult:
    rate: float
    seconds: float
    sent: int
    answered: int
    errors: int  # statuses other than 200/304, and broken connections
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _run(
    host: str, port: int, path: str, headers: dict[str, str], rate: float, seconds: float,
    connections: int,
) -> FixedRateResult:  # fmt: skip
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))
    total = int(rate * seconds)
    latencies = np.full(total, np.nan)
    errors = 0

    async def one(i: int, due: float) -> None:
        nonlocal errors
        conn = await pool.get()
        try:
            status = await _exchange(*conn, request)
            if status not in (200, 304):
                errors += 1
            latencies[i] = time.perf_counter() - due
            pool.put_nowait(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn[1].close()
            pool.put_nowait(await asyncio.open_connection(host, port))

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    done = latencies[~np.isnan(latencies)] * 1000
    return FixedRateResult(
        rate=rate,
        seconds=seconds,
        sent=total,
        answered=len(done),
        errors=errors,
        achieved_rate=round(len(done) / elapsed, 1),
        p50_ms=round(float(np.percentile(done, 50)), 2) if len(done) else float("nan"),
        p99_ms=round(float(np.percentile(done, 99)), 2) if len(done) else float("nan"),
        max_ms=round(float(done.max()), 2) if len(done) else float("nan"),
    )


def fixed_rate(
    port: int, path: str, *, headers: dict[str, str] | None = None, rate: float = 200,
    seconds: float = 30, connections: int = 32, host: str = "127.0.0.1",
) -> FixedRateResult:  # fmt: skip
    """``rate`` requests per second for ``seconds`` against ``http://host:port/path``."""
    return asyncio.run(_run(host, port, path, headers or {}, rate, seconds, connections))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/health")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    result = fixed_rate(
        args.port, args.path, headers=headers, rate=args.rate, seconds=args.seconds,
        connections=args.connections,
    )  # fmt: skip
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
