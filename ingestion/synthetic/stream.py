"""A ``random.Random`` that draws exactly the same numbers, with less Python per draw.

The generator makes tens of millions of ``choice`` / ``randint`` / ``randrange`` calls at a
million children. In CPython each of them runs two or three Python frames (argument checks,
``_randbelow``) around one C call to ``getrandbits``; these overrides do the same rejection
sampling in one frame. They consume the Mersenne Twister words the standard methods would, in
the same order, so every generated value (and every stored byte) is what ``random.Random``
gives for the same seed: ``tests/ingestion/synthetic/test_stream.py`` compares them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

T = TypeVar("T")


class Stream(random.Random):
    """``random.Random`` with faster ``choice``, ``randrange``, ``randint`` and small ``sample``."""

    def choice(self, seq: SupportsLenAndGetItem[T]) -> T:
        n = len(seq)
        if not n:
            raise IndexError("Cannot choose from an empty sequence")
        getrandbits = self.getrandbits
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return seq[r]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        # The integer cases the generator uses; anything else (steps, floats, errors) as
        # ``random.Random`` handles it.
        if type(start) is int and step == 1 and type(step) is int:
            if stop is None:
                n, low = start, 0
            elif type(stop) is int:
                n, low = stop - start, start
            else:
                return super().randrange(start, stop, step)
            if n > 0:
                getrandbits = self.getrandbits
                k = n.bit_length()
                r = getrandbits(k)
                while r >= n:
                    r = getrandbits(k)
                return low + r
        return super().randrange(start, stop, step)

    def randint(self, a: int, b: int) -> int:
        return self.randrange(a, b + 1)

    def sample(
        self, population: Sequence[T], k: int, *, counts: Iterable[int] | None = None
    ) -> list[T]:
        n = len(population) if type(population) in (list, tuple) else -1
        # ``random.Random.sample`` takes from a copied pool when n <= 21 and k <= 5.
        if counts is not None or not 0 <= k <= 5 or not 0 <= n <= 21 or k > n:
            return super().sample(population, k, counts=counts)
        getrandbits = self.getrandbits
        pool = list(population)
        result = []
        for i in range(k):
            m = n - i
            bits = m.bit_length()
            j = getrandbits(bits)
            while j >= m:
                j = getrandbits(bits)
            result.append(pool[j])
            pool[j] = pool[m - 1]
        return result
