"""Tokenization speed against a bare ``hmac.digest`` loop, on the identifier columns ingestion
tokenizes.

The columns are every direct identifier of the synthetic sources (children, guardians,
registry verifications), read as ingestion hands them to the tokenizer (clear text), in chunks
of ``--chunk`` rows as a chunked ingest does. Baseline, same run, same values: one
``hmac.digest(domain key, value, "sha256")`` per value, no normalisation and no cache (the least
any keyed token costs in Python). "Two processes" tokenizes the same chunks split between two
processes (the key is in both; ingestion itself keeps tokenization in one process and gives the
second core the row checks), to show what two cores give. A column's keyed hashes are computed
by the embedded engine (``anonymization.keyed_hash``), one thread per query inside the
scope ingestion opens per table; "keyed hashes in Python" turns that off.

    .venv/bin/python -m bench.tokenization [--children 100000] [--sources DIR] [--write-docs]
"""

from __future__ import annotations

import argparse
import hmac
import multiprocessing
import pickle
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from anonymization import keyed_hash
from anonymization.tokens import Tokenizer
from bench.report import machine, write_section
from ingestion.contracts import load_contracts
from ingestion.protect import _as_text
from lakehouse.reference.services import sqlite_source_urls

KEY = b"bench-token-key-" * 2
#: Timed rounds per path; each path reports its best.
ROUNDS = 3
#: (table, column, domain) -> clear values, in source order.
Columns = dict[tuple[str, str, str], list[object]]


def _columns(sources: Path) -> Columns:
    urls = sqlite_source_urls(sources)
    out: Columns = {}
    for contract in load_contracts().values():
        if contract.kind != "database":
            continue
        tokenized = [c for c in contract.tokenized_columns if c.derived_from is None]
        if not tokenized:
            continue
        engine = sa.create_engine(urls[contract.source])
        with engine.connect() as conn:
            for col in tokenized:
                rows = conn.execute(sa.text(f"select {col.name} from {contract.name}")).all()
                values = pd.Series([r[0] for r in rows], dtype=object)
                assert col.token_domain is not None
                out[(contract.name, col.name, col.token_domain)] = _as_text(values).tolist()
        engine.dispose()
    return out


Pieces = list[tuple[str, pd.Series]]


def _pieces(columns: Columns, chunk: int) -> Pieces:
    """Each column in chunks of ``chunk`` rows, as Series: what a chunked ingest hands the
    tokenizer (built before the clock starts, as the baseline's values are)."""
    return [
        (domain, pd.Series(values[start : start + chunk], dtype=object))
        for (_, _, domain), values in columns.items()
        for start in range(0, len(values), chunk)
    ]


def _tokenize(pieces: Pieces) -> int:
    """As ingestion tokenizes: chunk by chunk, inside the engine's scope."""
    tokenizer = Tokenizer(KEY)
    with keyed_hash.column_engine():
        for domain, piece in pieces:
            tokenizer.tokenize_series(domain, piece)
    return sum(len(piece) for _, piece in pieces)


def _tokenize_in_python(pieces: Pieces) -> int:
    """As :func:`_tokenize` with every keyed hash computed in Python (the engine off)."""
    engine_from = keyed_hash.COLUMN_FROM
    keyed_hash.COLUMN_FROM = sys.maxsize
    try:
        return _tokenize(pieces)
    finally:
        keyed_hash.COLUMN_FROM = engine_from


def _bare(columns: Columns) -> int:
    tokenizer = Tokenizer(KEY)
    n = 0
    for (_, _, domain), values in columns.items():
        key = tokenizer.domain_key(domain)
        for value in values:
            if value is not None:
                hmac.digest(key, str(value).encode("utf-8"), "sha256")
            n += 1
    return n


def _halves(columns: Columns) -> tuple[Columns, Columns]:
    first: Columns = {}
    second: Columns = {}
    for name, values in columns.items():
        middle = len(values) // 2
        first[name], second[name] = values[:middle], values[middle:]
    return first, second


#: A worker's half of the columns, loaded before the clock starts.
_LOADED: Pieces = []


def _load_at_barrier(path: Path, chunk: int, barrier: Any) -> int:
    """Read this worker's half (a pickle the parent wrote), so the two-process figure is
    tokenizing, not shipping a million strings between processes. The barrier holds each
    worker to one task of the two: a worker waiting at it cannot take the other."""
    barrier.wait()
    _LOADED[:] = _pieces(pickle.loads(path.read_bytes()), chunk)
    return sum(len(piece) for _, piece in _LOADED)


def _tokenize_at_barrier(barrier: Any) -> int:
    barrier.wait()
    return _tokenize(_LOADED)


def run(sources: Path, chunk: int) -> dict[str, object]:
    columns = _columns(sources)
    total = sum(len(v) for v in columns.values())
    distinct = sum(len({str(x) for x in v}) for v in columns.values())
    rates: dict[str, float] = {}
    pieces = _pieces(columns, chunk)

    def timed(name: str, started: float, done: int) -> None:
        rates[name] = max(rates.get(name, 0.0), done / (time.perf_counter() - started))

    # Each path's best of ROUNDS rounds (the machine's speed varies run to run), after one
    # round that warms caches and imports.
    for round_ in range(ROUNDS + 1):
        for name, work in (
            ("bare", lambda: _bare(columns)),
            ("one", lambda: _tokenize(pieces)),
            ("python", lambda: _tokenize_in_python(pieces)),
        ):
            start = time.perf_counter()
            done = work()
            if round_:
                timed(name, start, done)
    context = multiprocessing.get_context("forkserver")
    with tempfile.TemporaryDirectory(prefix="merajut-bench-halves-") as tmp:
        halves = [Path(tmp) / "first.pickle", Path(tmp) / "second.pickle"]
        for path, half in zip(halves, _halves(columns), strict=True):
            path.write_bytes(pickle.dumps(half))
        # One task per worker: a barrier makes each load its own half, then both start.
        with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
            barrier = multiprocessing.Manager().Barrier(2)
            loaded = pool.map(_load_at_barrier, halves, [chunk] * 2, [barrier] * 2)
            assert sum(loaded) == total
            for round_ in range(ROUNDS + 1):  # as above
                start = time.perf_counter()
                done = sum(pool.map(_tokenize_at_barrier, [barrier] * 2))
                if round_:
                    timed("two", start, done)
    return {
        "values": total,
        "distinct": distinct,
        "columns": [f"{t}.{c} ({d})" for t, c, d in columns],
        "rates": rates,
    }


def render(result: dict[str, object], children: int, chunk: int, load: str) -> str:
    rates = result["rates"]
    assert isinstance(rates, dict)
    bare = rates["bare"]
    rows = [
        ("bare `hmac.digest` loop, one process", rates["bare"]),
        ("`Tokenizer.tokenize_series`, keyed hashes in Python, one process", rates["python"]),
        ("`Tokenizer.tokenize_series`, one process", rates["one"]),
        ("`Tokenizer.tokenize_series`, two processes", rates["two"]),
    ]
    table = "\n".join(f"| {name} | {rate:,.0f} | {rate / bare:.2f}× |" for name, rate in rows)
    columns = result["columns"]
    assert isinstance(columns, list)
    return f"""Machine: {machine()}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Load average
before the run: {load} (other sessions share the 2 cores).

Every direct identifier of the synthetic sources of {children:,} children ({len(columns)}
columns: {", ".join(columns)}): {result["values"]:,} values, {result["distinct"]:,} distinct
within their column; tokenized in chunks of {chunk:,} rows, as a chunked ingest hands them over.
Baseline: one `hmac.digest` per value (no normalisation, no cache), same values, same run.
`tokenize_series` hashes a column's distinct values in the embedded engine (chDB, one thread
per query, inside the scope ingestion opens per table) from {keyed_hash.COLUMN_FROM:,} of
them; the row "keyed hashes in Python" is the same call with the engine off (each distinct
value's HMAC in Python, as before). "Two processes": each tokenizes half of every column.
Chunks are built, and each worker's half loaded, before the clock starts. Each path: the
best of {ROUNDS} rounds after a warm-up round.

| path | values/s | / bare hmac.digest |
|---|---:|---:|
{table}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--sources", type=Path, help="existing sources/ of that many children")
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    load = open("/proc/loadavg").read().split()[0]  # noqa: SIM115 (one read)
    with tempfile.TemporaryDirectory(prefix="merajut-bench-tokens-") as tmp:
        sources = args.sources
        if sources is None:
            from ingestion.synthetic import GeneratorConfig, generate_sources

            sources = Path(tmp) / "sources"
            generate_sources(
                GeneratorConfig(children=args.children, as_of=date(2026, 11, 1)),
                sqlite_source_urls(sources),
                Path(tmp) / "drops",
            )
        result = run(sources, args.chunk)
    body = render(result, args.children, args.chunk, load)
    print(body)
    if args.write_docs:
        write_section("Tokenization (`.venv/bin/python -m bench.tokenization --write-docs`)", body)


if __name__ == "__main__":
    main()
