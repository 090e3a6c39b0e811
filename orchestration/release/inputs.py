"""What a research release is built from, as one keyed digest, stored in its manifest.

A release's files cannot be compared with the last one's: its id, record tokens and row order
are its own, and the intersection guard may shape it by the releases before it. What can be
compared is its input: the records of the population before anything is generalised or
re-tokenised, the child register its journalist risk is measured against, the population's
size, the policy of the tier, and the code and libraries that turn those into files. The
release step builds a tier's release only when that digest differs from the one in the tier's
latest release; a child erased or restricted since was withdrawn with every release that held
them, and an input without them has another digest.

The digest is an HMAC under a key derived from the release key: it sits in a manifest that
researchers read, and an unkeyed hash of a small population could be confirmed by guessing it.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
from dataclasses import replace
from functools import cache

import pandas as pd

from lakehouse.digests import files_digest, frame_digest, json_digest
from lakehouse.layout import REPO_ROOT
from orchestration.release.build import ReleasePolicy

__all__ = ["RELEASE_CODE", "code_digest", "release_input_digest"]

#: The code and reference data a release is made with (the tiers and purposes, hierarchies,
#: the BPS population, every anonymisation and check, the writer).
RELEASE_CODE = (
    "anonymization",
    "orchestration/release",
    "lakehouse/reference",
    "lakehouse/research_release.py",
)
#: Libraries whose version can change a release's bytes.
LIBRARIES = ("pandas", "numpy", "pyarrow")


@cache
def code_digest() -> str:
    """The release code as this process runs it (read once: it does not change under it)."""
    paths = [REPO_ROOT / p for p in RELEASE_CODE]
    versions = {name: importlib.metadata.version(name) for name in LIBRARIES}
    return json_digest({"files": files_digest(paths, REPO_ROOT), "libraries": versions})


def _input_key(release_key: bytes) -> bytes:
    return hmac.new(release_key, b"merajut-release-input", hashlib.sha256).digest()


def release_input_digest(
    records: pd.DataFrame,
    registry: pd.DataFrame | None,
    population_children: int | None,
    policy: ReleasePolicy,
    release_key: bytes,
) -> str:
    """The keyed digest of one tier's release input (see the module docstring)."""
    key = _input_key(release_key)
    parts = {
        "records": frame_digest(records, key),
        "registry": None if registry is None else frame_digest(registry, key),
        "population_children": population_children,
        "policy": repr(replace(policy, input_sha256=None)),
        "code": code_digest(),
    }
    return hmac.new(key, json_digest(parts).encode(), hashlib.sha256).hexdigest()
