"""The metrics API under load: 10,000 requests at 50 connections with wrk, errors and memory.

One lake (2,000 children by default) is published by `merajut demo`; `merajut api serve` (uvicorn,
one worker) answers over loopback, every data request audited (fsync'd) before it is answered.
wrk (Debian's package; `make bench` installs it) runs each case for a duration sized from a short
calibration run so that at least N requests are sent (wrk stops by time, not by count), and
reports latency percentiles, non-2xx answers and socket errors; the server's resident
memory is read from /proc before and after, and its peak (VmHWM). Baseline in the same run: a
bare FastAPI app (`bench.bare_app`) sending the same answer's bytes; then both at a fixed 200
requests per second (`bench.fixed_rate`, open loop) for the p99 a client sees.

    .venv/bin/python -m bench.load [--children 2000] [--requests 10000] [--connections 50] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import REPO, api_key, demo_lake, serving, serving_process
from bench.fixed_rate import fixed_rate
from bench.report import machine, write_section
from lakehouse.audit_log import HashChainedLog

PORT = 18766
THREADS = 2
LUA = """
local key, path, vary = os.getenv("WRK_KEY"), os.getenv("WRK_PATH"), os.getenv("WRK_VARY") == "1"
local n = 0
request = function()
  n = n + 1
  local p = path
  if vary then p = p .. "&to=" .. tostring(2040 + n % 5000) .. "-12-31" end
  if key ~= "" then return wrk.format("GET", p, {["X-API-Key"] = key}) end
  return wrk.format("GET", p)
end
"""
METRIC = "/v1/metrics/placements?dimensions=province,quarter"
#: case -> (path, with a key, a different `to` each request, at least this many requests; 0:
#: the --requests option). The uncached case runs a fixed minute: at its rate 10,000 requests
#: would take most of an hour.
BARE = "bare FastAPI app, the same answer's bytes (baseline)"
CACHED = "placements by province × quarter, cached"
CASES = {
    "health (unauthenticated, unaudited)": ("/health", False, False, 0),
    CACHED: (METRIC, True, False, 0),
    "placements by province × quarter, a new window each request (60 s)": (METRIC, True, True, -60),
}
#: The bare app's cases (bench.bare_app, on BARE_PORT) and their paths.
BARE_CASES = {
    "bare FastAPI app, hello world": "/hello",
    BARE: "/answer",
}
BARE_PORT = PORT + 1
#: The fixed-rate test (bench.fixed_rate): requests per second, seconds.
RATE, RATE_SECONDS = 200, 30


def _rss_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M)}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _wrk(
    path: str, key: str, vary: bool, seconds: float, connections: int, script: Path,
    port: int = PORT,
) -> dict:  # fmt: skip
    env = {
        "WRK_KEY": key,
        "WRK_PATH": path,
        "WRK_VARY": "1" if vary else "0",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
         "--timeout", "30s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = proc.stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": round(_ms(latency["50"]), 2),
        "p99_ms": round(_ms(latency["99"]), 2),
        "non_2xx": int(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out))
        else 0,
        "socket_errors": sum(int(x) for x in socket.groups()) if socket else 0,
        "seconds": round(seconds),
    }


def _case(
    path: str, key: str, vary: bool, requests: int, connections: int, script: Path,
    port: int = PORT,
) -> dict:  # fmt: skip
    """At least ``requests`` requests (``requests < 0``: that many seconds instead)."""
    if requests < 0:
        return _wrk(path, key, vary, -requests, connections, script, port)
    calibration = _wrk(path, key, vary, 5, connections, script, port)
    seconds = 1.15 * requests / calibration["rps"] + 1
    result = _wrk(path, key, vary, seconds, connections, script, port)
    result["calibration_requests"] = calibration["requests"]
    return result


@contextmanager
def _bare_app(answer: Path) -> Iterator[subprocess.Popen[bytes]]:
    """bench.bare_app under uvicorn as `merajut api serve` runs (one worker, default logging)."""
    command = [
        sys.executable, "-m", "uvicorn", "bench.bare_app:create_app", "--factory",
        "--port", str(BARE_PORT),
    ]  # fmt: skip
    env = {**os.environ, "BENCH_ANSWER": str(answer)}
    with serving_process(command, env, REPO, f"http://127.0.0.1:{BARE_PORT}/hello") as server:
        yield server


def run(children: int, requests: int, connections: int) -> dict[str, object]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (Debian package wrk)")
    with demo_lake(children, "merajut-bench-load-", limits=False) as (tmp, env):
        key = api_key(env, "government")
        script = tmp / "limit.lua"
        script.write_text(LUA)
        results: dict[str, object] = {
            "children": children,
            "connections": connections,
            "requested": requests,
        }
        answer = tmp / "answer.json"
        with serving(env, PORT) as server:
            answer.write_bytes(
                httpx.get(f"http://127.0.0.1:{PORT}{METRIC}", headers={"X-API-Key": key}).content
            )
            results["answer_bytes"] = answer.stat().st_size
            rss_start = _rss_kib(server.pid)["VmRSS"]
            cases = {}
            with _bare_app(answer) as bare:
                for name, path in BARE_CASES.items():
                    cases[name] = _case(path, "", False, requests, connections, script, BARE_PORT)
                    cases[name]["rss_after_mib"] = round(_rss_kib(bare.pid)["VmRSS"] / 1024, 1)
                fixed = {BARE: fixed_rate(BARE_PORT, "/answer", rate=RATE, seconds=RATE_SECONDS)}
            for name, (path, authed, vary, count) in CASES.items():
                n = count or requests
                cases[name] = _case(path, key if authed else "", vary, n, connections, script)
                cases[name]["rss_after_mib"] = round(_rss_kib(server.pid)["VmRSS"] / 1024, 1)
            fixed[CACHED] = fixed_rate(
                PORT, METRIC, headers={"X-API-Key": key}, rate=RATE, seconds=RATE_SECONDS
            )
            memory = _rss_kib(server.pid)
        audited = sum(
            1
            for r in HashChainedLog(
                tmp / "lake" / "restricted" / "metrics_api" / "audit.jsonl"
            ).records()
            if r["outcome"] == "ok"
        )
    data_requests = (
        sum(
            c["requests"] + c.get("calibration_requests", 0)
            for n, c in cases.items()
            if n in CASES and n.startswith("placements")
        )
        + sum(f.sent for n, f in fixed.items() if n == CACHED)
        + 1
    )
    results.update(
        cases=cases,
        fixed_rate={n: asdict(f) for n, f in fixed.items()},
        rss_start_mib=round(rss_start / 1024, 1),
        rss_peak_mib=round(memory["VmHWM"] / 1024, 1),
        audit_records_ok=audited,
        data_requests=data_requests,
    )
    return results


def render(r: dict) -> str:
    base = r["cases"][BARE]
    lines = [
        f"Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Lake published by `merajut demo --children {r['children']:,}`; `merajut api serve` "
        f"(uvicorn, one worker) over loopback; `wrk -t{THREADS} -c{r['connections']}` per case "
        f"for a duration sized by a 5-second calibration run to send at least {r['requested']:,} "
        "requests, a government key on the data requests (each audited and fsync'd before it is "
        "answered); per-key limits lifted (a catalog copy), since one key past its limit gets "
        "429s. A new window each request: a different whole-year `to` each time, so the answer "
        "cache misses while the suppressed table it is sliced from (computed once per snapshot) "
        "is reused. Baseline, same run: `bench.bare_app`, a bare FastAPI app under the same "
        f"uvicorn settings sending the same answer's {r['answer_bytes']:,} bytes (fetched from "
        "the API once) from a plain route, with no key, audit or middleware.",
        "",
        "| case | seconds | requests | req/s | req/s / bare app, same bytes | p50 ms | p99 ms | non-2xx | socket errors | server RSS after, MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in r["cases"].items():
        lines.append(
            f"| {name} | {c['seconds']} | {c['requests']:,} | {c['rps']:.1f} | {c['rps'] / base['rps']:.2f}× | "
            f"{c['p50_ms']} | {c['p99_ms']} | {c['non_2xx']} | {c['socket_errors']} | {c['rss_after_mib']} |"
        )
    lines += [
        "",
        f"At a fixed rate (`bench.fixed_rate`: {RATE} requests per second for {RATE_SECONDS} s, "
        "open loop over 32 keep-alive connections, each latency measured from when its request "
        "was due, so a stall counts against every request queued behind it):",
        "",
        "| case | sent | answered | errors | achieved req/s | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in r["fixed_rate"].items():
        lines.append(
            f"| {name} | {f['sent']:,} | {f['answered']:,} | {f['errors']} | {f['achieved_rate']} | "
            f"{f['p50_ms']} | {f['p99_ms']} | {f['max_ms']} |"
        )
    cached, fixed = r["cases"][CACHED], r["fixed_rate"][CACHED]
    lines += [
        "",
        f"Goals (issue #12): cached answers at ≥ 50 % of the bare app's req/s: "
        f"{cached['rps'] / base['rps']:.0%} ({'met' if cached['rps'] >= 0.5 * base['rps'] else 'not met'}); "
        f"p99 ≤ 20 ms at {RATE} req/s: {fixed['p99_ms']} ms "
        f"({'met' if fixed['p99_ms'] <= 20 and fixed['errors'] == 0 else 'not met'}).",
        "",
        f"Server resident memory: {r['rss_start_mib']} MiB after start, peak {r['rss_peak_mib']} MiB "
        f"over all cases. Audit records of answered data requests: {r['audit_records_ok']:,}; "
        f"answers the clients counted: {r['data_requests']:,} (the calibration runs and the "
        "fixed-rate run included; wrk counts only answers that arrive before it stops, and the "
        "requests still in flight then are answered and audited too).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    result = run(args.children, args.requests, args.connections)
    print(json.dumps(result))
    text = render(result)
    print(text)
    if args.write_docs:
        write_section(
            "Metrics API under load (`.venv/bin/python -m bench.load --write-docs`)", text
        )


if __name__ == "__main__":
    main()
