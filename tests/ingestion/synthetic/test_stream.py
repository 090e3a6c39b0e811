"""``Stream`` draws what ``random.Random`` draws: the generator's output depends on it.

Every value the generator stores comes from these methods, so a difference in one draw (or in
how many Mersenne Twister words a draw consumes) would change every later value; the pinned
world in ``test_scale.py`` would catch it too, but not say where.
"""

from __future__ import annotations

import random

import pytest

from ingestion.synthetic.stream import Stream


@pytest.mark.parametrize("seed", [0, 7, "42:case_management", "7:third-party:CS-0000001"])
def test_every_overridden_draw_matches_random_random(seed: int | str) -> None:
    fast, reference = Stream(seed), random.Random(seed)
    sizes = [1, 2, 3, 4, 5, 7, 8, 9, 12, 17, 31, 32, 33, 1000, 2**31, 3_600_000_000]
    for size in sizes:
        items = list(range(size)) if size <= 1000 else range(size)
        for _ in range(50):
            assert fast.choice(items) == reference.choice(items)
            assert fast.randrange(size) == reference.randrange(size)
            assert fast.randrange(-3, size) == reference.randrange(-3, size)
            assert fast.randint(5, 5 + size) == reference.randint(5, 5 + size)
            # Whatever a draw consumed, the streams are still in step.
            assert fast.random() == reference.random()
    for population in (tuple("abcdefghijklmnopqrs"), list(range(21)), [1, 2], list(range(40))):
        for k in range(min(len(population), 7) + 1):
            for _ in range(30):
                assert fast.sample(population, k) == reference.sample(population, k)
    assert fast.getstate() == reference.getstate()


def test_what_it_does_not_speed_up_behaves_as_random_random() -> None:
    fast, reference = Stream(3), random.Random(3)
    assert fast.randrange(0, 20, 3) == reference.randrange(0, 20, 3)
    assert fast.sample(range(100), 3) == reference.sample(range(100), 3)
    assert fast.sample(["a", "b"], 2, counts=[2, 1]) == reference.sample(
        ["a", "b"], 2, counts=[2, 1]
    )
    for bad in (lambda r: r.choice([]), lambda r: r.randrange(0), lambda r: r.randint(3, 2)):
        with pytest.raises((IndexError, ValueError)):
            bad(fast)
    with pytest.raises(ValueError):
        fast.sample([1, 2], 3)
    assert fast.getstate() == reference.getstate()
