"""Cell-key perturbation: bounded, unbiased, consistent, and keyed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonymization.cell_key import (
    KEY_RANGE,
    MAX_NOISE,
    NOISE_PROBABILITIES,
    PTABLE_ROWS,
    VARIANCE,
    cell_keys,
    noise,
    perturb,
    perturbation_table,
    record_keys,
)


def test_the_table_realises_the_published_distribution_in_every_row() -> None:
    table = perturbation_table()
    assert pytest.approx(1.0) == VARIANCE
    assert set(table["pcv"]) == set(range(1, PTABLE_ROWS + 1))
    for _, row in table.groupby("pcv"):
        assert sorted(row["ckey"]) == list(range(KEY_RANGE))
        shares = row["pvalue"].value_counts(normalize=True).to_dict()
        assert shares == pytest.approx(NOISE_PROBABILITIES)
        assert row["pvalue"].mean() == 0
    # Rows are not all the same sequence: cells of different counts with one key do not all
    # move alike.
    rows = table.pivot(index="pcv", columns="ckey", values="pvalue")
    # (each row is a rotation of one sequence: at most 256 differ)
    assert len({tuple(r) for r in rows.to_numpy()}) > KEY_RANGE * 0.6


def test_noise_reads_the_table_and_wraps_large_counts() -> None:
    table = perturbation_table().set_index(["pcv", "ckey"])["pvalue"]
    rng = np.random.default_rng(7)
    counts = rng.integers(1, PTABLE_ROWS + 1, 500)
    keys = rng.integers(0, KEY_RANGE, 500)
    expected = [table[(c, k)] for c, k in zip(counts, keys, strict=True)]
    assert noise(counts, keys).tolist() == expected
    big = np.array([751, 1000, 1001, 123_456])
    wrapped = (big - 1) % 250 + 501
    assert noise(big, np.full(4, 17)).tolist() == [table[(w, 17)] for w in wrapped]


def test_zero_stays_zero_and_counts_below_the_floor_are_refused() -> None:
    assert noise([0, 0], [5, 200], floor=11).tolist() == [0, 0]
    for small in (1, 10):
        with pytest.raises(ValueError, match="never published perturbed"):
            noise([small], [0], floor=11)
    with pytest.raises(ValueError, match="cell keys"):
        noise([10], [KEY_RANGE])


def test_nothing_is_published_below_the_floor_and_no_value_pins_its_count() -> None:
    """Under threshold 11 a published 9 would mean exactly 11; with the floor every published
    value near it is shared by several counts."""
    keys = np.arange(KEY_RANGE)
    seen: dict[int, set[int]] = {}
    for count in range(11, 40):
        out = perturb(np.full(KEY_RANGE, count), keys, floor=11)
        assert out.min() >= 11 and np.abs(out - count).max() <= MAX_NOISE
        for value in set(out.tolist()):
            seen.setdefault(value, set()).add(count)
    assert all(len(counts) >= 3 for value, counts in seen.items() if value < 38)
    # The fold only biases counts within two of the floor.
    bias = {c: (perturb(np.full(KEY_RANGE, c), keys, floor=11) - c).mean() for c in (11, 12, 13)}
    assert bias == pytest.approx({11: 0.375, 12: 0.0625, 13: 0.0})


def test_perturbed_values_are_bounded_unbiased_and_positive() -> None:
    rng = np.random.default_rng(11)
    counts = rng.integers(1, 5000, 200_000)
    sums = rng.integers(0, 10**6, 200_000)
    out = perturb(counts, sums)
    diff = out - counts
    assert np.abs(diff).max() == MAX_NOISE
    assert (out >= 1).all()
    assert abs(diff.mean()) < 0.01
    assert diff.var() == pytest.approx(VARIANCE, abs=0.02)


def test_the_same_records_give_the_same_cell_key_however_the_cell_is_cut() -> None:
    key = b"k" * 32
    ids = [f"PL{i}" for i in range(40)]
    rk = record_keys(key, "placements.placements", ids)
    assert rk.tolist() == record_keys(key, "placements.placements", ids).tolist()
    assert ((rk >= 0) & (rk < KEY_RANGE)).all()
    # A cell split into parts: the parts' sums add up to the cell's key.
    whole = cell_keys(pd.Series([rk.sum()]))[0]
    parts = [rk[:13].sum(), rk[13:29].sum(), rk[29:].sum()]
    assert cell_keys(pd.Series([sum(parts)]))[0] == whole
    # Another key, or another table, gives unrelated record keys.
    assert rk.tolist() != record_keys(b"x" * 32, "placements.placements", ids).tolist()
    assert rk.tolist() != record_keys(key, "child_registry.children", ids).tolist()
    # Keyed hash bytes are uniform: over many ids every key value turns up.
    many = record_keys(key, "t", range(20_000))
    assert len(set(many.tolist())) == KEY_RANGE


def test_a_record_key_is_the_first_byte_of_the_keyed_hash_of_table_and_id() -> None:
    """Recomputed with the stdlib, one id at a time, for a column long enough that the keyed
    hashes are computed at once (``anonymization.keyed_hash``): keys must not move between
    runs, or every perturbed table's noise would."""
    import hmac

    key = b"k" * 32
    ids = [f"PL{i}" for i in range(6_000)] + [17, "ñ"]
    expected = [
        hmac.digest(key, f"placements.placements:{i}".encode(), "sha256")[0] % KEY_RANGE
        for i in ids
    ]
    assert record_keys(key, "placements.placements", ids).tolist() == expected
