"""The chDB lock: one process at a time opens the warehouse; the next waits instead of failing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lakehouse.warehouse import WarehouseTarget, session
    target = WarehouseTarget(path=Path(sys.argv[1]))
    with session(target) as client:
        client.command("create table if not exists default.t (n UInt32) engine = MergeTree order by n")
        client.command(f"insert into default.t values ({sys.argv[2]})")
        print("holding", flush=True)
        time.sleep(float(sys.argv[3]))
    print("released", flush=True)
    """
)


def _start(path: Path, value: int, hold: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(value), str(hold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_raw_chdb_refuses_a_second_process(tmp_path: Path) -> None:
    """Why the lock exists: without it the second process fails inside chDB."""
    path = tmp_path / "chdb"
    holder = _start(path, 1, 6)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    code = "import clickhouse_connect,sys; clickhouse_connect.get_client(interface='chdb', path=sys.argv[1])"
    other = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    holder.wait(timeout=60)
    assert other.returncode != 0
    assert "EmbeddedServer" in other.stderr or "lock" in other.stderr.lower()


def test_second_session_waits_for_the_first(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    first = _start(path, 1, 3)
    assert first.stdout is not None and first.stdout.readline().strip() == "holding"
    started = time.monotonic()
    second = _start(path, 2, 0)
    _, err = second.communicate(timeout=120)
    waited = time.monotonic() - started
    first.wait(timeout=60)
    assert second.returncode == 0, err
    assert waited >= 1.5, "the second session should have waited for the lock"
    count = subprocess.run(
        [
            sys.executable,
            "-c",
            "import clickhouse_connect,sys;c=clickhouse_connect.get_client(interface='chdb', path=sys.argv[1]);"
            "print(c.query('select count() from default.t').result_rows[0][0])",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert count.stdout.strip() == "2"
