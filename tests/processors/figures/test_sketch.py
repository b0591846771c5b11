"""The quantile sketch against exact nearest-rank quantiles, within its relative accuracy."""

import math
import random
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.figures.sketch import (
    RELATIVE_ACCURACY,
    ZERO_BUCKET,
    Levels,
    bucket_of,
    levels,
    merged,
    quantile,
    quantiles,
    rank,
    value_of,
)

QS = [0, 0.01, 0.07, 0.1, 0.25, 0.3, 0.5, 0.55, 0.75, 0.9, 0.99, 1]
# Floating point: log and pow round, so a value on a bucket's edge may read back a hair past α.
BOUND = RELATIVE_ACCURACY * (1 + 1e-9)


def sketch_of(values: list[float]) -> dict[int, int]:
    return dict(Counter(bucket_of(value) for value in values))


def exact(values: list[float], q: float) -> float:
    """The nearest-rank q-quantile: the ⌈q·n⌉-th smallest value, the smallest for q = 0."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(round(q * len(ordered), 9))) - 1]


def assert_within_bound(values: list[float]) -> None:
    counts = sketch_of(values)
    for q in QS:
        estimate, truth = quantile(counts, q), exact(values, q)
        assert estimate is not None
        assert abs(estimate - truth) <= BOUND * truth, (q, estimate, truth)


DISTRIBUTIONS: dict[str, Callable[[random.Random], float]] = {
    "uniform daily wages": lambda rng: rng.uniform(80, 600),
    "log-normal daily wages": lambda rng: rng.lognormvariate(math.log(220), 0.4),
    "exponential minutes to fill": lambda rng: rng.expovariate(1 / 180),
    "pareto, heavy tail": lambda rng: rng.paretovariate(1.2),
    "whole yuan, many ties": lambda rng: float(rng.choice([150, 180, 200, 200, 220, 300])),
    "tiny and huge together": lambda rng: 10 ** rng.uniform(-300, 300),
    "zeros among minutes": lambda rng: 0.0 if rng.random() < 0.3 else rng.uniform(0, 90),
}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
@pytest.mark.parametrize("n", [1, 2, 7, 100, 5_000])
def test_every_quantile_is_within_the_relative_accuracy_of_the_exact_one(name: str, n: int) -> None:
    rng = random.Random(f"{name}-{n}")
    assert_within_bound([DISTRIBUTIONS[name](rng) for _ in range(n)])


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.floats(0, 1e12, allow_nan=False), min_size=1, max_size=60))
def test_any_values_read_back_within_the_bound(values: list[float]) -> None:
    assert_within_bound(values)


def test_an_empty_sketch_has_no_quantiles() -> None:
    assert quantile({}, 0.5) is None
    assert levels({}) is None
    assert levels({bucket_of(200): 0}) is None  # a counter back at zero is still empty


def test_one_value_is_every_quantile() -> None:
    counts = sketch_of([213.7])
    assert {quantile(counts, q) for q in QS} == {value_of(bucket_of(213.7))}
    assert value_of(bucket_of(213.7)) == pytest.approx(213.7, rel=RELATIVE_ACCURACY)


def test_equal_values_read_back_as_one_value() -> None:
    counts = sketch_of([200.0] * 1000)
    assert counts == {bucket_of(200.0): 1000}
    found = levels(counts)
    assert found is not None and len(set(found)) == 1


def test_zero_has_a_bucket_below_all_others_and_reads_back_exactly() -> None:
    assert bucket_of(0.0) == ZERO_BUCKET < bucket_of(math.ulp(0.0))
    assert value_of(ZERO_BUCKET) == 0.0
    assert quantile(sketch_of([0.0, 0.0, 5.0]), 0.5) == 0.0


@pytest.mark.parametrize("value", [-1.0, -0.001, math.inf, math.nan])
def test_negative_and_non_finite_values_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="finite values ≥ 0"):
        bucket_of(value)


def test_the_largest_float_has_a_finite_reading() -> None:
    top = bucket_of(1.7976931348623157e308)
    assert value_of(top) == pytest.approx(1.7976931348623157e308, rel=RELATIVE_ACCURACY)


@pytest.mark.parametrize("q", [-0.1, 1.5])
def test_a_quantile_outside_0_to_1_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile(sketch_of([1.0]), q)


def test_counts_below_zero_are_drift_and_refused() -> None:
    with pytest.raises(ValueError, match="drifted"):
        quantile({bucket_of(1.0): 2, bucket_of(2.0): -1}, 0.5)


def test_the_nearest_rank_reads_decimal_quantiles_exactly() -> None:
    assert rank(0.07, 100) == 7  # 0.07 · 100 is 7.000000000000001 in binary floating point
    assert rank(0.0, 10) == 1
    assert rank(0.5, 5) == 3
    assert rank(1, 5) == 5


@settings(max_examples=200, derandomize=True)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), max_size=40),
    st.lists(st.floats(0, 1e6, allow_nan=False), max_size=40),
)
def test_merging_sketches_adds_their_counts(first: list[float], second: list[float]) -> None:
    assert merged([sketch_of(first), sketch_of(second)]) == sketch_of(first + second)


@settings(max_examples=300, derandomize=True)
@given(st.floats(0, 1e300, allow_nan=False), st.floats(0, 1e300, allow_nan=False))
def test_buckets_keep_the_order_of_values(a: float, b: float) -> None:
    low, high = sorted([a, b])
    assert bucket_of(low) <= bucket_of(high)
    assert value_of(bucket_of(low)) <= value_of(bucket_of(high))


def test_the_levels_are_p10_p25_p50_p75_p90_in_one_pass() -> None:
    values = [float(v) for v in range(1, 101)]
    found = levels(sketch_of(values))
    assert found is not None
    expected = [exact(values, q) for q in (0.1, 0.25, 0.5, 0.75, 0.9)]
    assert found == Levels(*(value_of(bucket_of(v)) for v in expected))
    assert quantiles(sketch_of(values), [0.9, 0.1]) == [found.p90, found.p10]
