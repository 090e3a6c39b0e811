"""Append-only, hash-chained audit logs (re-identifications in the vault, API requests).

One canonical JSON record per line with ``seq``, ``at``, ``prev_hash`` and ``hash`` = sha256 of
the record without ``hash``. Editing, deleting or re-ordering any line breaks verification from
that line on. A chain cannot show a truncated *tail* on its own: anchor :meth:`HashChainedLog.head`
somewhere else (the run log, a ticket) where that matters. Every log we keep is written by
:func:`append_record` and checked by :func:`verify_log`, so one verifier covers them all.

Writing fails closed: a record that cannot be appended raises :class:`AuditLogError`, and the
callers (the vault's reveal, the API's data routes) then return nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "AuditLogError",
    "GroupSync",
    "HashChainedLog",
    "append_record",
    "log_head",
    "record_hash",
    "verify_log",
]

GENESIS_HASH = "0" * 64
_FILE_MODE = 0o600
#: Fields the chain itself sets; an event may not supply them.
RESERVED_FIELDS = frozenset({"seq", "at", "prev_hash", "hash"})


class AuditLogError(Exception):
    """The audit log cannot be appended to safely (corrupt tail, I/O error)."""


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: Mapping[str, Any]) -> str:
    """sha256 of the record's canonical JSON without its ``hash`` field."""
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def _read_last_line(fd: int) -> bytes | None:
    """Last non-empty line of an open file, reading backwards in blocks."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return None
    buf = b""
    pos = end
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        os.lseek(fd, pos, os.SEEK_SET)
        buf = os.read(fd, step) + buf
        stripped = buf.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    stripped = buf.rstrip(b"\n")
    return stripped or None


def log_head(path: Path) -> tuple[int, str]:
    """(seq, hash) of the last record (the genesis for an empty or missing log)."""
    if not path.exists():
        return 0, GENESIS_HASH
    fd = os.open(path, os.O_RDONLY)
    try:
        line = _read_last_line(fd)
    finally:
        os.close(fd)
    if line is None:
        return 0, GENESIS_HASH
    record = json.loads(line)
    return int(record["seq"]), str(record["hash"])


def _chain_head(last: bytes | None) -> tuple[int, str]:
    """(seq, hash) the next record extends, from the log's last line (None: an empty log)."""
    if last is None:
        return 0, GENESIS_HASH
    try:
        prev = json.loads(last)
        return int(prev["seq"]), str(prev["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditLogError("audit log tail is corrupt; refusing to continue") from exc


def _next_record(fields: Mapping[str, Any], seq: int, prev_hash: str) -> dict[str, Any]:
    record: dict[str, Any] = {"seq": seq + 1, "at": _utc_now(), **fields, "prev_hash": prev_hash}
    record["hash"] = record_hash(record)
    return record


def append_record(path: Path, fields: Mapping[str, Any], *, sync: bool = True) -> dict[str, Any]:
    """Append one record (``fields`` + seq, at, prev_hash, hash) under an exclusive lock,
    fsync'd before returning, so a returned record is on disk (``sync=False``: the caller
    makes it durable, see :class:`GroupSync`)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, _FILE_MODE)
    except OSError as exc:
        raise AuditLogError(f"cannot open audit log: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        record = _next_record(fields, *_chain_head(_read_last_line(fd)))
        os.write(fd, _canonical(record) + b"\n")
        if sync:
            os.fsync(fd)
    except OSError as exc:
        raise AuditLogError(f"cannot write audit log: {exc}") from exc
    finally:
        os.close(fd)  # closing releases the flock
    return record


class _Appender:
    """One process's open descriptor of a log and the chain's head after its own last write.

    Why: an API answer appends one record, and opening the file, creating its folder and reading
    its last line back for every record cost more than the record. The head is reused only
    while the file is the one this descriptor wrote and its size is what that write left, so
    records appended meanwhile by another process, a file rewritten in place (its size or
    modification time moved) or a replaced one are read as before. The
    file lock is still taken for every record (other processes), with a thread lock around it:
    threads share the descriptor, and a lock on one open file does not exclude its sharers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._inode = -1
        #: ((size, mtime), seq, hash) right after this process's last record.
        self._tail: tuple[tuple[int, int], int, str] | None = None
        self._closer = weakref.finalize(self, _close_quietly, [None])

    def _open(self) -> int:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = -2
        if self._fd is not None and self._pid == os.getpid() and inode == self._inode:
            return self._fd
        if self._fd is not None and self._pid == os.getpid():
            _close_quietly([self._fd])
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, _FILE_MODE)
        self._fd, self._pid, self._inode, self._tail = fd, os.getpid(), os.fstat(fd).st_ino, None
        self._closer.detach()
        self._closer = weakref.finalize(self, _close_quietly, [fd])
        return fd

    def append(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            try:
                fd = self._open()
            except OSError as exc:
                raise AuditLogError(f"cannot open audit log: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    before = os.fstat(fd)
                    if self._tail is not None and self._tail[0] == _version(before):
                        seq, prev_hash = self._tail[1], self._tail[2]
                    else:
                        seq, prev_hash = _chain_head(_read_last_line(fd))
                    record = _next_record(fields, seq, prev_hash)
                    line = _canonical(record) + b"\n"
                    self._tail = None
                    written = os.write(fd, line)
                    if written != len(line):
                        raise AuditLogError("the audit record was written only in part")
                    self._tail = (_version(os.fstat(fd)), record["seq"], record["hash"])
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError as exc:
                raise AuditLogError(f"cannot write audit log: {exc}") from exc
            return record


def _version(stat: os.stat_result) -> tuple[int, int]:
    """What changes when anyone writes the file: its size and modification time."""
    return stat.st_size, stat.st_mtime_ns


def _close_quietly(holder: list[int | None]) -> None:
    for fd in holder:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def verify_log(path: Path | str) -> tuple[bool, str]:
    """Check the whole hash chain; returns (ok, message naming the first bad line)."""
    path = Path(path)
    if not path.exists():
        return False, f"audit log {path} does not exist"
    prev_hash = GENESIS_HASH
    expected_seq = 1
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                record = json.loads(raw)
            except ValueError:
                return False, f"line {lineno}: not valid JSON"
            if not isinstance(record, dict) or "hash" not in record:
                return False, f"line {lineno}: not an audit record"
            if record.get("seq") != expected_seq:
                return False, f"line {lineno}: seq {record.get('seq')!r}, expected {expected_seq}"
            if record.get("prev_hash") != prev_hash:
                return False, f"line {lineno}: prev_hash does not match line {lineno - 1}"
            if record_hash(record) != record["hash"]:
                return False, f"line {lineno}: record hash mismatch (edited)"
            prev_hash = record["hash"]
            expected_seq += 1
    return True, f"ok: {expected_seq - 1} records, head {prev_hash[:16]}"


class GroupSync:
    """Group commit: one fsync makes every record written before it durable, so threads that
    append at the same time share it instead of queueing behind one fsync each.

    A writer takes a ticket once its record is written, then waits until a sync that started
    after its write has finished; the first waiter with nothing in flight becomes the leader
    and fsyncs (the file's data, whichever descriptor wrote it) for everyone written so far. No
    record is reported durable before an fsync that began after it was written has returned,
    so an answer given after :meth:`durable` survives a crash of the process or the machine.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._written = 0
        self._synced = 0
        self._syncing = False
        #: (ticket, loop, future) of coroutines awaiting durability (:meth:`durable_async`),
        #: settled by one syncer thread so that an event loop never blocks on an fsync.
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._syncer: threading.Thread | None = None
        #: fsyncs made, and records made durable by them (how much the grouping saves).
        self.syncs = 0
        self.records = 0

    def written(self) -> int:
        """A ticket for a record written (not yet durable)."""
        with self._cond:
            self._written += 1
            return self._written

    def durable(self, ticket: int) -> None:
        """Return once the record of ``ticket`` is on disk; :class:`AuditLogError` if the
        fsync that would make it so fails."""
        with self._cond:
            while self._synced < ticket:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                target = self._written
                self._cond.release()
                try:
                    _fsync(self.path)
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    self._cond.notify_all()
                self._synced_up_to(target)

    def _synced_up_to(self, target: int) -> None:
        """Every record up to ticket ``target`` is on disk (called under the condition, after
        an fsync that began once ``target`` was written)."""
        self.syncs += 1
        self.records += max(target - self._synced, 0)
        self._synced = max(self._synced, target)

    async def durable_async(self, ticket: int) -> None:
        """:meth:`durable` for a coroutine: it waits on a future the syncer thread settles
        after an fsync that began after the record was written (the same guarantee), so an
        event loop serves other requests meanwhile and no thread is held per waiting request."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._synced >= ticket:
                return
            self._waiters.append((ticket, loop, future))
            if self._syncer is None or not self._syncer.is_alive():
                self._syncer = threading.Thread(
                    target=self._sync_for_waiters, name="audit-group-sync", daemon=True
                )
                self._syncer.start()
            self._cond.notify_all()
        await future

    def _sync_for_waiters(self) -> None:
        while True:
            error: AuditLogError | None = None
            with self._cond:
                while True:
                    # Settled without an fsync of ours when one already done (a thread's, or
                    # ours) covers a waiter; else an fsync once no thread's is in flight.
                    covered = any(ticket <= self._synced for ticket, _, _ in self._waiters)
                    if covered or (self._waiters and not self._syncing):
                        break
                    if not self._cond.wait(timeout=60) and not self._waiters:
                        self._syncer = None  # idle for a minute: the next waiter starts one
                        return
                if not covered:
                    self._syncing = True
                    target = self._written
            if not covered:
                try:
                    _fsync(self.path)
                except AuditLogError as exc:
                    error = exc
            with self._cond:
                if not covered:
                    self._syncing = False
                    if error is None:
                        self._synced_up_to(target)
                    self._cond.notify_all()
                done = [w for w in self._waiters if w[0] <= self._synced or error is not None]
                self._waiters = [w for w in self._waiters if w[0] > self._synced and error is None]
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, loop, future in done:
                by_loop.setdefault(loop, []).append(future)
            for loop, futures in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a loop closed meanwhile
                    loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: AuditLogError | None) -> None:
    for future in futures:
        if future.done():  # its request was cancelled
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise AuditLogError(f"cannot sync audit log: {exc}") from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        raise AuditLogError(f"cannot sync audit log: {exc}") from exc
    finally:
        os.close(fd)


class HashChainedLog:
    """One audit log file: append events, read its head and records, verify its chain.

    Appends from threads of one process are made durable by group commit (:class:`GroupSync`);
    appends from other processes stay correct (the chain is extended under the file's lock)
    and each process syncs its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.group = GroupSync(path)
        self._appender = _Appender(path)

    def __repr__(self) -> str:
        return f"HashChainedLog({str(self.path)!r})"

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Append ``event`` (JSON-serialisable after ``str()`` of odd values such as dates)."""
        record = self._write(event)
        self.group.durable(self.group.written())
        return record

    async def append_async(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`append` for a coroutine: the record is written at once (a short write under
        the file lock), and the coroutine returns once an fsync has made it durable."""
        record = self._write(event)
        await self.group.durable_async(self.group.written())
        return record

    def _write(self, event: Mapping[str, Any]) -> dict[str, Any]:
        clash = RESERVED_FIELDS & set(event)
        if clash:
            raise ValueError(f"audit events may not set {sorted(clash)}")
        return self._appender.append(json.loads(json.dumps(dict(event), default=str)))

    def head(self) -> tuple[int, str]:
        return log_head(self.path)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def verify(self) -> tuple[bool, str]:
        return verify_log(self.path)
