"""适配率, time to fill, applications per job and match → hire conversion, per posting cohort."""

import pytest

from processors import jobs
from processors.figures import sketch
from processors.figures.counts import by_group, combined
from processors.figures.fill import (
    APPLICATIONS,
    FILLED_POSITIONS,
    TIME_TO_FILL,
    Conversion,
    Fill,
    conversion,
    fill_rows,
    filled_ms,
    job_counts,
    pair_counts,
)
from processors.figures.groups import CITY, OCCUPATION
from processors.figures.history import PairHistory, with_job_event
from processors.figures.positions import job_counts as positions_counts
from processors.figures.windows import day_of, periods_of
from tests import factory
from tests.processors.figures.build import event, hired, job, ms, no_district
from topics.jobs import JobClosed, JobUpdated

DAY, WEEK, MONTH = periods_of(day_of(ms(0)))


def test_a_job_is_filled_when_the_hire_reaching_its_headcount_was_confirmed() -> None:
    state, history = job(0, headcount=2)
    state, history = hired(state, history, "S1", 90)
    assert filled_ms(state, history) is None
    state, history = hired(state, history, "S2", 30)  # confirmed earlier, arrived later
    assert filled_ms(state, history) == ms(90)


def test_a_job_closed_as_filled_is_filled_then_even_short_of_its_headcount() -> None:
    state, history = job(0, hires=1, headcount=3)
    jobs.apply(state, JobClosed("J1", "filled"), ms(45), {})
    assert filled_ms(state, history) == ms(45)
    jobs.apply(state, JobUpdated("J1", headcount=1), ms(50), {})
    assert filled_ms(state, history) == ms(10)  # its one hire, earlier than the close


def test_a_cancelled_job_is_not_filled() -> None:
    state, history = job(0, hires=1, headcount=2)
    jobs.apply(state, JobClosed("J1", "cancelled"), ms(45), {})
    assert filled_ms(state, history) is None


def test_hires_beyond_the_headcount_fill_no_more_positions() -> None:
    counts = job_counts(*job(0, hires=3, headcount=2), no_district)
    assert by_group(counts, FILLED_POSITIONS, CITY, WEEK) == {"": 2}


def test_time_to_fill_is_counted_in_minutes_from_the_first_posting() -> None:
    counts = job_counts(*job(0, hires=2, headcount=2), no_district)
    # Hired at 10 and 20 minutes: the second hire filled it.
    assert {key.bucket for key in counts if key.figure == TIME_TO_FILL} == {sketch.bucket_of(20)}


def test_a_fill_dated_before_its_posting_takes_no_time() -> None:
    state, history = job(60, headcount=1)
    state, history = hired(state, history, "S1", 0)
    counts = job_counts(state, history, no_district)
    assert {key.bucket for key in counts if key.figure == TIME_TO_FILL} == {sketch.ZERO_BUCKET}


def test_applications_count_every_application_the_job_received_withdrawn_or_not() -> None:
    state, history = job(0)
    for application_id, seeker_id in [("A1", "S1"), ("A2", "S2"), ("A1", "S1")]:
        submitted = factory.application_submitted(application_id, "J1", seeker_id, 5)
        history = with_job_event(history, event(submitted))
    assert by_group(job_counts(state, history, no_district), APPLICATIONS, CITY, DAY) == {"": 2}


def test_the_fill_rows_give_the_rate_applications_per_job_and_time_to_fill() -> None:
    filled_fast = job(0, hires=2, headcount=2, occupation="快递员")  # 10 and 20 minutes
    half_filled = job(0, hires=1, headcount=2, occupation="快递员")
    nobody = job(0, headcount=4, occupation="普工")
    counts = combined(
        *(job_counts(*each, no_district) for each in (filled_fast, half_filled, nobody)),
        *(
            positions_counts(*each, ms(0), no_district)
            for each in (filled_fast, half_filled, nobody)
        ),
    )
    p50, p90 = sketch.quantiles({sketch.bucket_of(20): 1}, [0.5, 0.9]) or (None, None)
    assert fill_rows(counts, OCCUPATION, WEEK) == [
        Fill("快递员", 2, 4, 3, 0.75, 0, 0.0, p50, p90),
        Fill("普工", 1, 4, 0, 0.0, 0, 0.0, None, None),
    ]
    assert fill_rows(counts, OCCUPATION, periods_of(day_of(ms(0)) + 7)[1]) == []


@pytest.mark.parametrize(
    ("pair", "matches", "hires"),
    [
        (PairHistory(ms(0), ms(30)), 1, 1),
        (PairHistory(ms(0), ms(0)), 1, 1),
        (PairHistory(ms(30), ms(0)), 1, 0),  # hired before the matcher found them
        (PairHistory(ms(0), None), 1, 0),
        (PairHistory(None, ms(0)), 0, 0),  # hired, never matched
    ],
)
def test_a_pair_converts_when_hired_at_or_after_its_first_match(
    pair: PairHistory, matches: int, hires: int
) -> None:
    got = conversion(pair_counts(pair), DAY)
    assert (got.matches, got.hires) == (matches, hires)


def test_the_conversion_is_hires_over_matches_of_the_window() -> None:
    pairs = [PairHistory(ms(0), ms(5)), PairHistory(ms(1), None), PairHistory(ms(2), None)]
    assert conversion(combined(*map(pair_counts, pairs)), WEEK) == Conversion(3, 1, 1 / 3)
    assert conversion({}, WEEK) == Conversion(0, 0, None)
