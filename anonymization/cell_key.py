"""Cell-key perturbation: the same cell always gets the same small noise.

Why: suppression protects a hidden cell against an attacker who solves the released tables
exactly, but a public audience (community, media) also gets tables of the next snapshot, and the
difference between two snapshots' exact counts is a count of the children who came in between.
The cell-key method of the Australian Bureau of Statistics (TableBuilder; Fraser & Wooton 2005,
Thompson, Broadfoot & Elazar 2013) and of the ONS for the 2021 census adds noise that is

* *consistent*: every record carries a permanent random key; a cell's key is the sum of its
  records' keys modulo the key range, and the noise is looked up from (count, cell key). The
  same records give the same noise, however the cell is asked for and however often, so
  repeating or averaging queries gains nothing;
* *bounded and unbiased*: at most ``MAX_NOISE`` either way, mean 0, variance ``VARIANCE``;
* *published*: the perturbation table below is public (it is useless without the record keys,
  which never leave the lake).

Record keys here are not drawn at random and stored: they are a keyed hash of the record's
primary key (HMAC-SHA256 with a key of their own domain, :meth:`Tokenizer.domain_key`), so a
record keeps its key across re-ingests and rebuilds without any state, and nobody without the
token key can compute one.

The noise distribution is Binomial(4, 1/2) - 2 (probabilities 1/16, 4/16, 6/16, 4/16, 1/16 for
-2..2): with 256 cell keys each probability is a whole number of keys (16, 64, 96, 64, 16), so
the table realises it exactly. Each count's row is that sequence rotated by an offset taken from
a hash of the count (the ONS tables vary rows by count too), so cells of different counts with
the same key do not all move the same way. Counts above 750 reuse rows 501..750 (the ONS
convention), so the table stays finite.

Two rules on top of the table:

* zero is never perturbed: an empty cell is not a disclosure and must stay empty;
* a shown count never drops below the audience's threshold (``floor``): the value published is
  ``max(count + noise, floor)``. Without it a published 9 under threshold 11 would tell the
  reader that the count is exactly 11 (it is at least 11 and at most 9 + 2). With it, a
  published 11 may be 11, 12 or 13. The price is a small upward bias for counts within 2 of the
  threshold (+0.375 at the threshold itself, +0.0625 one above, none from two above); counts
  below the threshold are never shown to a perturbed audience, so they have no value at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from anonymization.keyed_hash import KeyedSha256

__all__ = [
    "KEY_RANGE",
    "MAX_NOISE",
    "METHOD",
    "NOISE_PROBABILITIES",
    "PTABLE_ROWS",
    "RECORD_KEY_DOMAIN",
    "VARIANCE",
    "cell_keys",
    "noise",
    "perturb",
    "perturbation_table",
    "record_keys",
]

#: Record keys and cell keys are integers 0 .. KEY_RANGE - 1.
KEY_RANGE = 256
MAX_NOISE = 2
#: noise -> probability; each a whole number of KEY_RANGE keys.
NOISE_PROBABILITIES: dict[int, float] = {-2: 1 / 16, -1: 4 / 16, 0: 6 / 16, 1: 4 / 16, 2: 1 / 16}
VARIANCE = sum(d * d * p for d, p in NOISE_PROBABILITIES.items())
#: Rows of the table: counts 1 .. PTABLE_ROWS; larger counts reuse the last 250.
PTABLE_ROWS = 750
_WRAP = 250
#: The token domain whose key makes record keys (never a domain of a column's tokens).
RECORD_KEY_DOMAIN = "record_key"
METHOD = (
    "cell-key perturbation (ABS TableBuilder / ONS 2021): noise in -2..2, mean 0, variance 1, "
    "the same for the same records however and however often asked"
)

_KEYS_PER_NOISE = {d: round(p * KEY_RANGE) for d, p in NOISE_PROBABILITIES.items()}
assert sum(_KEYS_PER_NOISE.values()) == KEY_RANGE
_BASE = np.repeat(np.array(list(_KEYS_PER_NOISE), dtype=np.int64), list(_KEYS_PER_NOISE.values()))


def _offset(row: int) -> int:
    digest = hashlib.sha256(f"merajut-ptable:{row}".encode()).digest()
    return int.from_bytes(digest[:2], "big") % KEY_RANGE


def _row_of(counts: np.ndarray) -> np.ndarray:
    """The table row a count reads (counts above PTABLE_ROWS wrap into the last _WRAP rows)."""
    wrapped = (counts - 1) % _WRAP + (PTABLE_ROWS - _WRAP + 1)
    return np.where(counts > PTABLE_ROWS, wrapped, counts)


_ROWS = np.stack([np.roll(_BASE, _offset(r)) for r in range(PTABLE_ROWS + 1)])


def perturbation_table() -> pd.DataFrame:
    """The published table: one row per (count, cell key) with its noise (``pcv``, ``ckey``,
    ``pvalue``, as the ONS calls them); counts above ``PTABLE_ROWS`` read row
    ``(count - 1) % 250 + 501``; the published value is ``max(count + pvalue, threshold)``."""
    rows = np.arange(1, PTABLE_ROWS + 1)
    return pd.DataFrame(
        {
            "pcv": np.repeat(rows, KEY_RANGE),
            "ckey": np.tile(np.arange(KEY_RANGE), len(rows)),
            "pvalue": _ROWS[rows].reshape(-1),
        }
    )


def record_keys(domain_key: bytes, table: str, ids: Iterable[object]) -> np.ndarray:
    """Each record's permanent key (0 .. KEY_RANGE - 1): a keyed hash of ``table`` and its
    primary key, so it is the same in every run and unknown to anyone without the key."""
    messages = [f"{table}:{i}" for i in ids]
    first_bytes = "".join(KeyedSha256(domain_key).prefixed_hex(messages, "", 2))
    return np.frombuffer(bytes.fromhex(first_bytes), dtype=np.uint8).astype(np.int64) % KEY_RANGE


def cell_keys(record_key_sums: np.ndarray | pd.Series) -> np.ndarray:
    """A cell's key from the sum of its records' keys (sums add up, so a coarser cell's key is
    the sum of its finer cells' sums, modulo the range)."""
    return np.asarray(record_key_sums, dtype=np.int64) % KEY_RANGE


def noise(
    counts: np.ndarray | pd.Series, keys: np.ndarray | pd.Series, floor: int = 1
) -> np.ndarray:
    """What is added to each count: the table's noise for (count, cell key), raised so that
    the result is at least ``floor`` (the audience's threshold); 0 for a zero count. A count
    1 .. floor - 1 is refused: it is never shown to a perturbed audience."""
    n = np.asarray(counts, dtype=np.int64)
    k = np.asarray(keys, dtype=np.int64)
    if floor < 1:
        raise ValueError("the floor of a perturbed count is at least 1")
    if ((n >= 1) & (n < floor)).any():
        raise ValueError(f"counts 1..{floor - 1} are never published perturbed (below the floor)")
    if (n < 0).any() or (k < 0).any() or (k >= KEY_RANGE).any():
        raise ValueError("counts must be non-negative and cell keys in 0..255")
    d = _ROWS[_row_of(np.maximum(n, 1)), k]
    return np.where(n == 0, 0, np.maximum(n + d, floor) - n)


def perturb(
    counts: np.ndarray | pd.Series, record_key_sums: np.ndarray | pd.Series, floor: int = 1
) -> np.ndarray:
    """The published value of each count: ``max(count + noise, floor)``; zero stays zero."""
    n = np.asarray(counts, dtype=np.int64)
    return n + noise(n, cell_keys(record_key_sums), floor)
