"""The dbt manifest is always whole for a reader, however many processes parse at once."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

from orchestration.core.dbt import DBT_PROJECT_DIR, parse_manifest


def _parse_twice(_: int) -> str:
    parse_manifest()
    return str(parse_manifest())


def test_a_reader_never_sees_half_a_manifest_while_others_parse() -> None:
    """Two processes parse twice each (as two test processes, or a run and the Dagster UI,
    do); meanwhile this one reads the manifest as fast as it can. Every read is whole JSON."""
    manifest = parse_manifest()
    assert manifest == DBT_PROJECT_DIR / "target" / "manifest.json"
    context = multiprocessing.get_context("spawn")
    reads = 0
    with context.Pool(2) as pool:
        parsing = pool.map_async(_parse_twice, [0, 1])
        while not parsing.ready():
            document = json.loads(Path(manifest).read_text(encoding="utf-8"))
            assert "nodes" in document
            reads += 1
            time.sleep(0.001)
        assert parsing.get() == [str(manifest)] * 2
    assert reads > 10
    assert not list(manifest.parent.glob(".manifest.json.*"))  # no staged copy left behind
