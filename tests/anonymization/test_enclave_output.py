"""The enclave's output rule on its own: what leaves of a count, and as what number."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonymization.cell_key import MAX_NOISE
from anonymization.enclave_output import hidden_reason, protect_counts


def test_small_counts_and_zeros_are_hidden_alike_and_the_rest_perturbed_above_the_floor() -> None:
    counts = np.repeat(np.arange(0, 40), 256)
    sums = np.tile(np.arange(256), 40)
    published = protect_counts(counts, sums, threshold=10)
    hidden = published.isna().to_numpy()
    assert (hidden == (counts < 10)).all()  # 0 and 1..9 alike
    shown = published[~hidden].astype(int).to_numpy()
    true = counts[~hidden]
    assert shown.min() == 10 and (np.abs(shown - true) <= MAX_NOISE).all()
    assert (shown != true).mean() > 0.5  # the noise is there (5 in 8 keys move a count)
    # Consistent: the same count and key sum give the same number; another key sum need not.
    again = protect_counts(pd.Series(counts), pd.Series(sums + 256), threshold=10)
    assert again.equals(published)


def test_the_rule_states_one_reason_and_refuses_a_threshold_that_hides_nothing() -> None:
    assert hidden_reason(10) == "fewer than 10 children (0 included): not shown"
    with pytest.raises(ValueError, match="threshold"):
        protect_counts(np.array([1]), np.array([3]), threshold=1)
