"""``suppress_answer``: the one place the API hides cells, checked on its own."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from anonymization.small_cells import verify_no_recoverable_cells
from metrics_api.privacy import suppress_answer


def _grid(seed: int, provinces: int = 6, quarters: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = list(itertools.product([f"{p:02d}" for p in range(11, 11 + provinces)], range(quarters)))
    frame = pd.DataFrame(rows, columns=["province", "quarter"])
    frame["denominator"] = rng.choice([0, 1, 2, 3, 7, 12, 30], len(frame))
    frame["numerator"] = (frame["denominator"] * rng.random(len(frame))).astype(int)
    return frame


@pytest.mark.parametrize("threshold", [5, 10, 11])
@pytest.mark.parametrize("seed", range(8))
def test_no_small_or_recoverable_count_in_either_column(seed: int, threshold: int) -> None:
    frame = _grid(seed)
    out = suppress_answer(frame, ["province", "quarter"], ["numerator", "denominator"], threshold)
    hidden = out["suppressed"].to_numpy()
    # A cell is hidden in every count column at once (a ratio never shows half of itself).
    for column in ("numerator", "denominator"):
        assert out[column].isna().to_numpy().tolist() == hidden.tolist()
        assert verify_no_recoverable_cells(out, ["province", "quarter"], column, threshold) == []
    assert out.loc[hidden, "suppression_reason"].notna().all()
    assert out.loc[~hidden, "suppression_reason"].isna().all()


def test_reasons_name_the_triggering_count_and_prefer_primary() -> None:
    frame = pd.DataFrame(
        {"province": ["11", "11", "12", "12"], "quarter": [1, 2, 1, 2],
         "numerator": [2, 20, 20, 20], "denominator": [30, 30, 3, 30]}
    )  # fmt: skip
    out = suppress_answer(frame, ["province", "quarter"], ["numerator", "denominator"], 5)
    reasons = dict(
        zip(
            zip(out["province"], out["quarter"], strict=True),
            out["suppression_reason"],
            strict=True,
        )
    )
    assert reasons[("11", 1)] == "primary: count 1..4 (numerator)"
    assert reasons[("12", 1)] == "primary: count 1..4 (denominator)"
    assert out["suppressed"].sum() == 4  # the complements of both


def test_a_table_without_dimensions_is_one_cell() -> None:
    small = suppress_answer(pd.DataFrame({"value": [3]}), [], ["value"], 5)
    assert small["suppressed"].tolist() == [True] and small["value"].isna().all()
    large = suppress_answer(pd.DataFrame({"value": [30]}), [], ["value"], 5)
    assert large["suppressed"].tolist() == [False] and large["value"].tolist() == [30]


def test_the_admin_threshold_hides_nothing_and_inputs_are_not_changed() -> None:
    frame = _grid(1)
    before = frame.copy()
    out = suppress_answer(frame, ["province", "quarter"], ["numerator", "denominator"], 1)
    assert not out["suppressed"].any()
    assert out["denominator"].tolist() == before["denominator"].tolist()
    pd.testing.assert_frame_equal(frame, before)


def test_zero_cells_are_not_small() -> None:
    frame = pd.DataFrame({"p": ["a", "b"], "q": [1, 1], "value": [0, 40]})
    out = suppress_answer(frame, ["p", "q"], ["value"], 5)
    assert not out["suppressed"].any()
