"""The enclave's output check: which count of a frequency table may leave, and as what number.

A researcher queries the enclave's record-level extract as tables (ABS TableBuilder, the UK
Data Service's Secure Lab output checking); the records never leave, only counts, and each
count passes this one rule:

* a count of at least ``threshold`` leaves with cell-key noise (:mod:`anonymization.cell_key`):
  at most ``MAX_NOISE`` either way and never below the threshold, so the smallest number ever
  published is the threshold itself;
* every other count, **zero included**, is hidden, with the same reason. A published zero next
  to hidden small counts would tell "none" from "a few": that a child of a given age, sex and
  regency is in care (membership), or, when the other cells of a row are zero, that every
  such child shares one case type (class disclosure). ABS TableBuilder can show zeros because
  its noise turns small counts into zero too, so its zeros prove nothing; here small counts
  are hidden instead, so zeros must be. SACRO/ACRO, the UK secure environments' output
  checker, treats zeros as disclosive by default for the same reason.

What this defends, and how:

* **Small cells**: never shown.
* **Averaging by repetition**: the noise is a function of the count and the sum of its
  records' permanent keys, so the same records give the same number however often, in
  whichever dimension order and through whichever filter they are reached; a hundred asks
  give one draw.
* **Differencing by filters** (the table with and without one child): two counts of
  different records carry different noise; their difference is the true difference plus noise
  of variance 2 (and a difference that would reach below the threshold does not exist: the
  smaller count is hidden). A single difference does not tell 0 from 1; many differently
  built pairs do average it down, which the per-key budget and the audit log bound and expose
  (this module cannot prevent it).
* **Margins**: there are no totals of their own. A margin is asked as a table of fewer
  dimensions and is a count like any other, protected by the same rule, so a row's hidden
  cells do not follow from it exactly (each count's noise is its own: tables do not add up).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anonymization.cell_key import perturb

__all__ = ["hidden_reason", "protect_counts"]


def hidden_reason(threshold: int) -> str:
    """The one reason a hidden count gives: the same whether the count is 0 or 1..T-1."""
    return f"fewer than {threshold} children (0 included): not shown"


def protect_counts(
    counts: np.ndarray | pd.Series, record_key_sums: np.ndarray | pd.Series, threshold: int
) -> pd.Series:
    """Each count as published (nullable integers): perturbed where it is at least
    ``threshold``, missing (hidden) everywhere else, zero included."""
    if threshold < 2:
        raise ValueError("the enclave's threshold hides at least the counts of one child")
    n = np.asarray(counts, dtype=np.int64)
    sums = np.asarray(record_key_sums, dtype=np.int64)
    shown = n >= threshold
    published = pd.array(np.zeros(len(n), dtype=np.int64), dtype="Int64")
    published[shown] = perturb(n[shown], sums[shown], floor=threshold)
    published[~shown] = pd.NA
    return pd.Series(published, index=counts.index if isinstance(counts, pd.Series) else None)
