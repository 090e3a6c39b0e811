"""Atomic writes leave the old file or the new one, never half of one, and no litter."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from lakehouse.files import sha256_file, write_json_atomic, write_parquet_atomic, write_text_atomic


def test_json_is_stable_and_sorted(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b.json"
    write_json_atomic(path, {"b": 1, "a": Path("/x")})
    assert path.read_text() == '{\n  "a": "/x",\n  "b": 1\n}\n'
    assert json.loads(path.read_text()) == {"a": "/x", "b": 1}
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]


class _Unwritable:
    def __str__(self) -> str:
        raise RuntimeError("cannot be written")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_litter(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomic(path, {"watermark": 1})
    with pytest.raises(RuntimeError):
        write_json_atomic(path, {"bad": _Unwritable()})

    class Failing(pd.DataFrame):
        def to_parquet(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
            Path(str(args[0])).write_bytes(b"half a file")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_parquet_atomic(Failing({"a": [1]}), tmp_path / "state.json")
    assert json.loads(path.read_text()) == {"watermark": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_text_and_parquet(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "t.csv", "a,b\n1,2\n")
    assert (tmp_path / "t.csv").read_text() == "a,b\n1,2\n"
    frame = pd.DataFrame({"a": [1, 2]})
    write_parquet_atomic(frame, tmp_path / "p" / "f.parquet")
    assert pd.read_parquet(tmp_path / "p" / "f.parquet").equals(frame)
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["f.parquet"]


def test_sha256_file_reads_in_blocks(tmp_path: Path) -> None:
    data = b"x" * (3 << 20) + b"tail"
    (tmp_path / "big").write_bytes(data)
    assert sha256_file(tmp_path / "big") == hashlib.sha256(data).hexdigest()
