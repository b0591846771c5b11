"""工资价位: daily wages of the jobs posted, per occupation, over the last 30 days."""

import random

from processors.figures import sketch
from processors.figures.counts import combined
from processors.figures.wage_levels import job_counts, wage_levels
from processors.figures.windows import DAY_MS, day_of, periods_of, recent_days
from tests.processors.figures.build import job, ms


def test_the_levels_of_an_occupation_are_those_of_its_jobs_daily_wages() -> None:
    rng = random.Random(5)
    wages = [round(rng.uniform(120, 400)) for _ in range(200)]
    counts = combined(
        *(job_counts(*job(0, wage={"amount": w, "unit": "day"}, occupation="普工")) for w in wages),
        job_counts(*job(0, wage={"amount": 999, "unit": "day"}, occupation="快递员")),
    )
    found = wage_levels(counts, "普工", recent_days(ms(0)))
    assert found is not None
    exact = sorted(wages)
    for level, q in zip(found, sketch.LEVELS, strict=True):
        truth = exact[sketch.rank(q, len(exact)) - 1]
        assert abs(level - truth) <= sketch.RELATIVE_ACCURACY * truth * (1 + 1e-9)


def test_hourly_and_monthly_wages_count_as_daily_and_piece_rates_not_at_all() -> None:
    counts = combined(
        job_counts(*job(0, wage={"amount": 25, "unit": "hour"})),
        job_counts(*job(0, wage={"amount": 4350, "unit": "month"})),
        job_counts(*job(0, wage={"amount": 3.5, "unit": "piece"})),
    )
    found = wage_levels(counts, "装卸搬运工", recent_days(ms(0)))
    assert found is not None and set(found) == {sketch.value_of(sketch.bucket_of(200))}
    assert wage_levels(counts, None, recent_days(ms(0))) == found  # city-wide


def test_a_job_leaves_the_last_30_days_on_its_31st_beijing_day() -> None:
    counts = job_counts(*job(0))
    posted_day = day_of(ms(0))
    still = recent_days(ms(0) + 29 * DAY_MS)
    assert wage_levels(counts, "装卸搬运工", still) is not None
    assert wage_levels(counts, "装卸搬运工", recent_days(ms(0) + 30 * DAY_MS)) is None
    assert wage_levels(counts, "装卸搬运工", [periods_of(posted_day)[1]]) is not None  # its week
