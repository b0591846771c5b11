"""A streaming quantile sketch for daily wages and durations, kept as integer counts per bucket.

DDSketch's logarithmic mapping (Masson, Rim and Lee, VLDB 2019): with relative
accuracy α and γ = (1 + α) / (1 − α), bucket i holds the values in
(γ^(i−1), γ^i] and reads back as 2γ^i / (γ + 1), which lies within α of every
value in the bucket. Zero has a bucket of its own below all others and reads
back as 0. The indices are those of the ddsketch package's LogarithmicMapping;
the package is not used because its stores are Python objects, while these
counts must be plain integers that can live in a Redis hash and be merged by
adding them.

Error bound: quantile() returns a value within α (relative) of the exact
nearest-rank quantile of the values counted: |q̂ − x| ≤ α·x, for any number of
values, any distribution, and any merge of sketches. Nearest rank: of n values
sorted ascending, the q-quantile is the ⌈q·n⌉-th (the first for q = 0).
"""

import bisect
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import NamedTuple

RELATIVE_ACCURACY = 0.005  # α: 0.5%, so a wage of 200 yuan reads back within 1 yuan
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
# q is read as the nearest fraction with a denominator up to this, so 0.7 is 7/10 exactly.
_Q_DENOMINATOR = 10**6


def _log_bucket(value: float) -> int:
    return math.ceil(math.log(value) / _LOG_GAMMA)


ZERO_BUCKET = _log_bucket(math.ulp(0.0)) - 1  # below the bucket of the smallest positive float


def bucket_of(value: float) -> int:
    """The bucket a value ≥ 0 is counted in; a negative or non-finite value is a caller's bug."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"a sketch counts finite values ≥ 0, not {value!r}")
    if value == 0:
        return ZERO_BUCKET
    return _log_bucket(value)


def value_of(bucket: int) -> float:
    """What a bucket reads back as: within α of every value it holds."""
    if bucket == ZERO_BUCKET:
        return 0.0
    # γ^(i−1)·(1 + α) = 2γ^i / (γ + 1), without overflowing in the top bucket.
    value: float = GAMMA ** (bucket - 1) * (1 + RELATIVE_ACCURACY)
    return value


def merged(sketches: Iterable[Mapping[int, int]]) -> dict[int, int]:
    """One sketch of all the values counted in the given ones."""
    total: dict[int, int] = {}
    for sketch in sketches:
        for bucket, n in sketch.items():
            total[bucket] = total.get(bucket, 0) + n
    return total


def rank(q: float, n: int) -> int:
    """The nearest rank (1-based) of the q-quantile among n values."""
    if not 0 <= q <= 1:
        raise ValueError(f"a quantile is between 0 and 1, not {q!r}")
    return max(1, math.ceil(Fraction(q).limit_denominator(_Q_DENOMINATOR) * n))


def quantiles(counts: Mapping[int, int], qs: Sequence[float]) -> list[float] | None:
    """The q-quantiles of the counted values, in the order of qs; None when none are counted."""
    if any(n < 0 for n in counts.values()):
        raise ValueError("a sketch's counts went below zero: its counters drifted")
    ordered = sorted(bucket for bucket, n in counts.items() if n > 0)
    if not ordered:
        return None
    # Counts at or below each bucket, ascending: a rank falls in the first bucket reaching it.
    cumulative = list(itertools.accumulate(counts[bucket] for bucket in ordered))
    ranks = [rank(q, cumulative[-1]) for q in qs]
    return [value_of(ordered[bisect.bisect_left(cumulative, r)]) for r in ranks]


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    found = quantiles(counts, [q])
    return None if found is None else found[0]


class Levels(NamedTuple):
    """The five levels published for wages (工资价位) and used for durations."""

    p10: float  # 低位数 (low)
    p25: float
    p50: float  # 中位数 (median)
    p75: float
    p90: float  # 高位数 (high)


LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)


def levels(counts: Mapping[int, int]) -> Levels | None:
    found = quantiles(counts, LEVELS)
    return None if found is None else Levels(*found)
