"""The week's or month's table: 求人倍率 by occupation against the period before, wage levels."""

from processors.figures import sketch
from processors.figures.counts import Counts, Key, combined
from processors.figures.groups import CITY, OCCUPATION
from processors.figures.history import with_seeker_event
from processors.figures.positions import ACTIVE_SEEKERS, POSTED_POSITIONS, Ratio, seeker_counts
from processors.figures.report import percent_change, report
from processors.figures.wage_levels import job_counts
from processors.figures.windows import MONTH, WEEK, Window, day_of, period_window
from tests import factory
from tests.processors.figures.build import event, job, ms, seeker
from tests.processors.figures.wiring import seeker_district

THIS_WEEK = period_window(WEEK, day_of(ms(0)))  # Monday 2026-11-23
LAST_WEEK = period_window(WEEK, day_of(ms(0)) - 7)
DAY_MINUTES = 24 * 60


def posted(window: Window, **positions: int) -> Counts:
    return {Key(POSTED_POSITIONS, OCCUPATION, o, window): n for o, n in positions.items()}


def active(window: Window, **seekers: int) -> Counts:
    return {Key(ACTIVE_SEEKERS, OCCUPATION, o, window): n for o, n in seekers.items()}


def city(window: Window, positions: int, seekers: int) -> Counts:
    return {
        Key(POSTED_POSITIONS, CITY, "", window): positions,
        Key(ACTIVE_SEEKERS, CITY, "", window): seekers,
    }


def test_each_row_sets_the_period_against_the_one_before() -> None:
    counts = combined(
        posted(THIS_WEEK, 快递员=6),
        active(THIS_WEEK, 快递员=2),
        city(THIS_WEEK, 6, 2),
        posted(LAST_WEEK, 快递员=4),
        active(LAST_WEEK, 快递员=5),
        city(LAST_WEEK, 4, 5),
    )
    found = report(counts, THIS_WEEK)
    assert (found.window, found.previous) == (THIS_WEEK, LAST_WEEK)
    courier = found.rows[1]
    assert courier.occupation == "快递员"
    assert courier.now == Ratio("快递员", 6, 2, 3.0)
    assert courier.before == Ratio("快递员", 4, 5, 0.8)
    assert courier.ratio_change == 3.0 - 0.8
    assert courier.positions_change_pct == 50.0
    assert courier.seekers_change_pct == -60.0
    assert found.rows[0].occupation is None  # the city first
    assert found.rows[0].now == Ratio("", 6, 2, 3.0)


def test_a_period_before_without_seekers_has_no_ratio_to_change_from() -> None:
    counts = combined(
        posted(THIS_WEEK, 普工=3),
        active(THIS_WEEK, 普工=2),
        posted(LAST_WEEK, 普工=2),
    )
    row = report(counts, THIS_WEEK).rows[1]
    assert row.before == Ratio("普工", 2, 0, None)
    assert row.ratio_change is None
    assert row.seekers_change_pct is None
    assert row.positions_change_pct == 50.0


def test_an_occupation_of_the_period_before_only_stays_in_the_table_at_zero() -> None:
    counts = combined(posted(THIS_WEEK, 普工=1), posted(LAST_WEEK, 家政服务员=2))
    row = report(counts, THIS_WEEK).rows[2]
    assert row.occupation == "家政服务员"
    assert row.now == Ratio("家政服务员", 0, 0, None)
    assert row.positions_change_pct == -100.0


def test_occupations_come_most_positions_first_and_the_city_row_even_when_empty() -> None:
    counts = combined(
        posted(THIS_WEEK, 普工=1, 快递员=9, 货车司机=1),
        active(THIS_WEEK, 货车司机=4),
    )
    rows = report(counts, THIS_WEEK).rows
    assert [row.occupation for row in rows] == [None, "快递员", "货车司机", "普工"]
    assert rows[0].now == Ratio("", 0, 0, None)  # no city-wide counters in these counts


def test_wage_levels_are_those_of_the_jobs_posted_in_the_period() -> None:
    counts = combined(
        *(
            job_counts(*job(0, occupation="普工", wage={"amount": w, "unit": "day"}))
            for w in (150, 200, 260)
        ),
        job_counts(*job(-7 * DAY_MINUTES, occupation="普工", wage={"amount": 900, "unit": "day"})),
    )
    found = report(counts, THIS_WEEK)
    for row in found.rows:  # the city's jobs are the occupation's here
        assert row.wages is not None
        read = [sketch.value_of(sketch.bucket_of(w)) for w in (150, 150, 200, 260, 260)]
        assert row.wages == sketch.Levels(*read)
    last = report(counts, LAST_WEEK).rows[0].wages
    assert last is not None and last.p50 == sketch.value_of(sketch.bucket_of(900))


def test_a_month_counts_a_seeker_active_in_two_of_its_weeks_once() -> None:
    state, history = seeker(0, occupations=["快递员"])  # Friday the 27th
    for days in (1, 3):  # Saturday the 28th, Monday the 30th
        checkin = factory.checkin("S1", days * DAY_MINUTES, market_id="M1")
        history = with_seeker_event(history, event(checkin))
    counts = seeker_counts(state, history, ms(3 * DAY_MINUTES), seeker_district)
    november = period_window(MONTH, day_of(ms(0)))
    weeks = [report(counts, period_window(WEEK, day_of(ms(d * DAY_MINUTES)))) for d in (0, 3)]
    assert [week.rows[1].now.seekers for week in weeks] == [1, 1]
    found = report(counts, november)
    assert found.previous == period_window(MONTH, day_of(ms(-30 * DAY_MINUTES)))
    assert found.rows[1].now == Ratio("快递员", 0, 1, 0.0)
    assert found.rows[1].wages is None


def test_a_percent_change_is_none_from_nothing() -> None:
    assert percent_change(0, 5) is None
    assert percent_change(4, 5) == 25.0
    assert percent_change(4, 0) == -100.0
