"""The hash-chained audit log: every edit, deletion or reordering is found; writing fails closed."""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lakehouse.audit_log import (
    GENESIS_HASH,
    AuditLogError,
    HashChainedLog,
    record_hash,
    verify_log,
)


def _log(tmp_path: Path, n: int = 5) -> HashChainedLog:
    log = HashChainedLog(tmp_path / "restricted" / "audit.jsonl")
    for i in range(n):
        log.append({"actor": f"worker-{i}", "reason": "safeguarding visit", "when": object()})
    return log


@pytest.fixture
def slow_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, list[tuple[int, float]], threading.Lock]:
    """The log's path, and each fsync made on it as (lines on disk when it began, when it
    ended): every fsync takes 5 ms, as on a slow disk."""
    import time

    path = tmp_path / "audit.jsonl"
    real_fsync = os.fsync
    lock = threading.Lock()
    syncs: list[tuple[int, float]] = []

    def slow_fsync(fd: int) -> None:
        lines = path.read_bytes().count(b"\n")
        time.sleep(0.005)
        real_fsync(fd)
        with lock:
            syncs.append((lines, time.monotonic()))

    monkeypatch.setattr(os, "fsync", slow_fsync)
    return path, syncs, lock


def test_records_chain_and_the_head_is_the_last(tmp_path: Path) -> None:
    log = _log(tmp_path)
    records = log.records()
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == GENESIS_HASH
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(records))
    assert all(record_hash(r) == r["hash"] for r in records)
    assert log.head() == (5, records[-1]["hash"])
    assert verify_log(log.path) == (True, f"ok: 5 records, head {records[-1]['hash'][:16]}")
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    assert isinstance(records[0]["when"], str)  # odd values are stored as text


def test_an_empty_or_missing_log(tmp_path: Path) -> None:
    log = HashChainedLog(tmp_path / "none.jsonl")
    assert log.head() == (0, GENESIS_HASH) and log.records() == []
    assert verify_log(log.path)[0] is False


def test_edits_deletions_reorderings_and_rehashing_are_detected(tmp_path: Path) -> None:
    log = _log(tmp_path)
    original = log.path.read_text().splitlines()

    def verdict(lines: list[str]) -> tuple[bool, str]:
        log.path.write_text("\n".join(lines) + "\n")
        return log.verify()

    edited = [*original]
    edited[2] = edited[2].replace("worker-2", "worker-X")
    assert verdict(edited) == (False, "line 3: record hash mismatch (edited)")
    assert verdict([original[0], *original[2:]])[1].startswith("line 2")
    assert verdict([original[1], original[0], *original[2:]])[1].startswith("line 1")
    forged = json.loads(original[1])
    forged["reason"] = "nothing to see"
    forged["hash"] = record_hash(forged)
    assert verdict([original[0], json.dumps(forged), *original[2:]])[1].startswith("line 3")
    assert verdict([*original[:2], "not json", *original[3:]]) == (False, "line 3: not valid JSON")
    assert verdict(original)[0]


def test_events_may_not_set_the_chain_fields(tmp_path: Path) -> None:
    log = HashChainedLog(tmp_path / "audit.jsonl")
    for field in ("seq", "at", "prev_hash", "hash"):
        with pytest.raises(ValueError, match="may not set"):
            log.append({field: "x"})
    assert log.records() == []


def test_a_corrupt_tail_stops_writing(tmp_path: Path) -> None:
    log = _log(tmp_path, 2)
    with log.path.open("a") as fh:
        fh.write("{truncated")
    with pytest.raises(AuditLogError, match="corrupt"):
        log.append({"actor": "a"})


def test_an_unwritable_log_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.mkdir()  # a directory where the log should be
    with pytest.raises(AuditLogError):
        HashChainedLog(path).append({"actor": "a"})


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    log = HashChainedLog(tmp_path / "audit.jsonl")
    threads = [
        threading.Thread(target=lambda i=i: [log.append({"writer": i}) for _ in range(25)])
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok, message = log.verify()
    assert ok and "100 records" in message, message


def test_concurrent_appends_share_fsyncs_and_none_returns_before_its_record_is_synced(
    slow_disk: tuple[Path, list[tuple[int, float]], threading.Lock],
) -> None:
    """Group commit: sixteen threads appending at once share fsyncs (a slow disk is simulated:
    each fsync takes 5 ms), and every append returns only after an fsync that began after its
    record was written has finished: the durability each API answer waits for."""
    import time

    path, syncs, lock = slow_disk
    log = HashChainedLog(path)
    returned: list[tuple[int, float]] = []

    def writer(i: int) -> None:
        for _ in range(20):
            record = log.append({"writer": i})
            with lock:
                returned.append((record["seq"], time.monotonic()))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok, message = log.verify()
    assert ok and "320 records" in message, message
    assert log.group.records == 320
    assert log.group.syncs < 320 / 2, log.group.syncs  # shared: far fewer fsyncs than records
    for seq, at in returned:
        # Some fsync that saw this record on disk had finished before the append returned.
        assert any(lines >= seq and ended <= at for lines, ended in syncs), seq


def test_a_failed_group_sync_fails_every_append_waiting_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = HashChainedLog(tmp_path / "audit.jsonl")

    def broken(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(AuditLogError, match="cannot sync"):
        log.append({"actor": "a"})


def test_async_appends_from_a_loop_and_threads_at_once_share_fsyncs_and_wait_for_theirs(
    slow_disk: tuple[Path, list[tuple[int, float]], threading.Lock],
) -> None:
    """``append_async`` (the API's cached answers, on the event loop): two hundred coroutines
    and eight threads appending at once over a slow disk; no coroutine resumes before an fsync
    that saw its record on disk has finished, the loop is never blocked by an fsync (a ticker
    keeps running), and the coroutines share fsyncs with each other and with the threads."""
    import asyncio
    import time

    path, syncs, lock = slow_disk
    log = HashChainedLog(path)
    returned: list[tuple[int, float]] = []

    def writer(i: int) -> None:
        for _ in range(10):
            record = log.append({"thread": i})
            with lock:
                returned.append((record["seq"], time.monotonic()))

    async def one(i: int) -> None:
        record = await log.append_async({"coroutine": i})
        with lock:
            returned.append((record["seq"], time.monotonic()))

    async def main() -> int:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(one(i) for i in range(200)))
        done.set()
        await tick
        return ticks

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    ticks = asyncio.run(main())
    for t in threads:
        t.join()
    ok, message = log.verify()
    assert ok and "280 records" in message, message
    assert log.group.syncs < 280 / 2, log.group.syncs
    assert ticks > 1  # the loop ran while fsyncs were in flight
    for seq, at in returned:
        assert any(lines >= seq and ended <= at for lines, ended in syncs), seq


def test_a_failed_group_sync_fails_every_coroutine_waiting_on_it_and_the_next_one_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    log = HashChainedLog(tmp_path / "audit.jsonl")
    real_fsync = os.fsync
    broken = True

    def flaky(fd: int) -> None:
        if broken:
            raise OSError(5, "I/O error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky)

    async def many() -> list[BaseException | dict]:
        return await asyncio.gather(
            *(log.append_async({"actor": i}) for i in range(5)), return_exceptions=True
        )

    results = asyncio.run(many())
    assert all(isinstance(r, AuditLogError) and "cannot sync" in str(r) for r in results)
    broken = False
    record = asyncio.run(log.append_async({"actor": "after the disk came back"}))
    assert record["seq"] == 6 and log.verify()[0]


def test_a_writer_in_another_process_or_a_replaced_file_is_chained_after(tmp_path: Path) -> None:
    """The log keeps its descriptor and the chain's head between records: a record another
    process appended meanwhile, or a log file replaced, must still be read before the next."""
    log = _log(tmp_path, n=2)
    other = (
        "import sys; from pathlib import Path; from lakehouse.audit_log import append_record; "
        "append_record(Path(sys.argv[1]), {'actor': 'another process'})"
    )
    subprocess.run([sys.executable, "-c", other, str(log.path)], check=True)
    log.append({"actor": "this process"})
    records = log.records()
    assert [r["actor"] for r in records][-2:] == ["another process", "this process"]
    assert [r["seq"] for r in records] == [1, 2, 3, 4] and log.verify()[0]

    log.path.unlink()  # e.g. moved away by an archiving job: a new chain in a new file
    log.append({"actor": "after the move"})
    assert [r["seq"] for r in log.records()] == [1] and log.verify()[0]

    two = HashChainedLog(log.path)  # a second writer in this process, appending in turn
    for i in range(3):
        (log if i % 2 else two).append({"actor": f"turn {i}"})
    assert [r["seq"] for r in log.records()] == [1, 2, 3, 4] and log.verify()[0]
