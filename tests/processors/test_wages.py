"""Wages on one daily scale: hours times eight, months over 21.75 days, piece rates not at all."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.wages import HOURS_PER_DAY, WORKDAYS_PER_MONTH, daily_wage
from topics.fields import Wage

amounts = st.floats(0.01, 100_000, allow_nan=False)


def test_an_hourly_wage_is_eight_hours_a_day() -> None:
    assert daily_wage(Wage(25, "hour")) == 200


def test_a_daily_wage_is_itself() -> None:
    assert daily_wage(Wage(220, "day")) == 220


def test_a_monthly_wage_is_spread_over_the_statutory_21_75_working_days() -> None:
    assert daily_wage(Wage(4350, "month")) == 200
    assert daily_wage(Wage(5000, "month")) == pytest.approx(229.885, abs=1e-3)


def test_a_piece_rate_has_no_daily_wage() -> None:
    assert daily_wage(Wage(3.5, "piece")) is None


@settings(max_examples=200, derandomize=True)
@given(per_day=amounts)
def test_the_same_pay_posted_by_hour_day_or_month_comes_to_the_same_daily_wage(
    per_day: float,
) -> None:
    by_hour = daily_wage(Wage(per_day / HOURS_PER_DAY, "hour"))
    by_month = daily_wage(Wage(per_day * WORKDAYS_PER_MONTH, "month"))
    assert by_hour == pytest.approx(per_day, rel=1e-12)
    assert by_month == pytest.approx(per_day, rel=1e-12)
