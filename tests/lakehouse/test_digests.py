"""Content digests: equal content, equal digest, whatever the order; any change, another one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lakehouse.digests import files_digest, frame_digest, json_digest

KEY = b"k" * 32


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"child_id": ["CH-1", "CH-2", "CH-3"], "age": [4, 11, None], "sex": ["F", None, "M"]}
    )


def test_a_frame_digest_ignores_row_order_and_sees_every_value() -> None:
    frame = _frame()
    digest = frame_digest(frame, KEY)
    assert frame_digest(frame.iloc[[2, 0, 1]].reset_index(drop=True), KEY) == digest
    changed = frame.copy()
    changed.loc[1, "sex"] = "F"
    assert frame_digest(changed, KEY) != digest
    assert frame_digest(frame.iloc[:2], KEY) != digest  # a row fewer
    assert frame_digest(pd.concat([frame, frame.iloc[:1]]), KEY) != digest  # a row twice
    assert frame_digest(frame.rename(columns={"sex": "gender"}), KEY) != digest
    assert frame_digest(frame.astype({"child_id": "category"}), KEY) != digest  # a dtype


def test_a_frame_digest_is_keyed() -> None:
    assert frame_digest(_frame(), KEY) != frame_digest(_frame(), b"o" * 32)


def test_a_tree_digest_sees_names_and_bytes_and_skips_caches(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1")
    digest = files_digest([tmp_path], tmp_path)
    for skipped in ("target", "logs", "__pycache__"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "x").write_text("build output")
    (tmp_path / ".user.yml").write_text("id: 1")
    (tmp_path / "models" / "a.pyc").write_bytes(b"\0")
    assert files_digest([tmp_path], tmp_path) == digest
    (tmp_path / "models" / "a.sql").write_text("select 2")
    assert files_digest([tmp_path], tmp_path) != digest
    (tmp_path / "models" / "a.sql").write_text("select 1")
    (tmp_path / "models" / "a.sql").rename(tmp_path / "models" / "b.sql")
    assert files_digest([tmp_path], tmp_path) != digest


def test_a_json_digest_ignores_key_order() -> None:
    assert json_digest({"a": 1, "b": [1, 2]}) == json_digest({"b": [1, 2], "a": 1})
    assert json_digest({"a": 1}) != json_digest({"a": 2})
