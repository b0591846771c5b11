"""求人倍率: open positions over active seekers, live and per day or week, by group."""

from processors.figures.counts import Key, by_group, combined
from processors.figures.groups import CITY, DISTRICT, MARKET, OCCUPATION
from processors.figures.history import SeekerHistory, with_seeker_event
from processors.figures.positions import (
    ACTIVE_SEEKERS,
    OPEN_POSITIONS,
    POSTED_POSITIONS,
    Ratio,
    job_counts,
    job_due_ms,
    positions_per_seeker,
    seeker_counts,
    seeker_due_ms,
)
from processors.figures.windows import LIVE, day_of, day_start_ms, periods_of
from processors.seekers import SeekerState
from tests import factory
from tests.processors.figures.build import event, hired, job, ms, no_district, seeker

DAY_MINUTES = 24 * 60
CHANGAN = {"M1": "京口区", "M2": "润州区"}.get


def east_or_west(state: SeekerState) -> str:
    return "东部" if state.profile.home.lon > 119.45 else "西部"


def test_open_positions_are_the_remaining_headcount_in_every_group_of_the_job() -> None:
    state, history = job(0, hires=1, headcount=3, market_id="M1")
    counts = job_counts(state, history, ms(30), CHANGAN)
    groups = [(CITY, ""), (OCCUPATION, "装卸搬运工"), (DISTRICT, "京口区"), (MARKET, "M1")]
    assert {key: n for key, n in counts.items() if key.window == LIVE} == {
        Key(OPEN_POSITIONS, by, group, LIVE): 2 for by, group in groups
    }


def test_positions_posted_stay_in_the_posting_day_and_week_after_the_job_closes() -> None:
    state, history = job(0, headcount=3)
    after_the_shift = ms(60 * 9)
    counts = job_counts(state, history, after_the_shift, no_district)
    assert not any(key.figure == OPEN_POSITIONS for key in counts)
    for window in periods_of(day_of(ms(0))):
        assert by_group(counts, POSTED_POSITIONS, CITY, window) == {"": 3}


def test_a_job_without_a_district_counts_in_its_markets_and_else_in_none() -> None:
    location = {"lat": 32.2, "lon": 119.45}
    at_market = job_counts(*job(0, location=location, market_id="M2"), ms(1), CHANGAN)
    nowhere = job_counts(*job(0, location=location), ms(1), CHANGAN)
    assert by_group(at_market, OPEN_POSITIONS, DISTRICT, LIVE) == {"润州区": 2}
    assert by_group(nowhere, OPEN_POSITIONS, DISTRICT, LIVE) == {}


def test_an_open_jobs_live_count_is_due_to_change_at_its_deadline() -> None:
    state, _ = job(0)
    assert job_due_ms(state, ms(1)) == ms(60 * 9)
    assert job_due_ms(state, ms(60 * 9)) is None


def test_a_seeker_with_two_occupations_counts_once_in_each_and_once_city_wide() -> None:
    state, history = seeker(0, occupations=["快递员", "普工", "快递员"])
    counts = seeker_counts(state, history, ms(1), east_or_west)
    assert by_group(counts, ACTIVE_SEEKERS, OCCUPATION, LIVE) == {"快递员": 1, "普工": 1}
    assert by_group(counts, ACTIVE_SEEKERS, CITY, LIVE) == {"": 1}
    assert by_group(counts, ACTIVE_SEEKERS, DISTRICT, LIVE) == {"东部": 1}


def test_a_seeker_is_active_while_a_visit_is_within_the_last_30_beijing_days() -> None:
    state, history = seeker(0)
    last_active_day = day_start_ms(day_of(ms(0)) + 30) - 1
    assert by_group(
        seeker_counts(state, history, last_active_day, east_or_west), ACTIVE_SEEKERS, CITY, LIVE
    )
    gone = seeker_counts(state, history, last_active_day + 1, east_or_west)
    assert by_group(gone, ACTIVE_SEEKERS, CITY, LIVE) == {}
    assert seeker_due_ms(state, history, ms(0)) == last_active_day + 1
    assert seeker_due_ms(state, history, last_active_day + 1) is None


def test_a_withdrawn_seeker_leaves_the_live_count_but_not_the_days_they_were_active() -> None:
    state, history = seeker(0)
    state.withdrawn = True
    counts = seeker_counts(state, history, ms(1), east_or_west)
    assert by_group(counts, ACTIVE_SEEKERS, CITY, LIVE) == {}
    assert by_group(counts, ACTIVE_SEEKERS, CITY, periods_of(day_of(ms(0)))[0]) == {"": 1}
    assert seeker_due_ms(state, history, ms(1)) is None


def test_a_seeker_counts_in_each_market_visited_recently_and_per_window_where_visited() -> None:
    state, history = seeker(0)
    for minutes, market_id in [(5, "M1"), (DAY_MINUTES, "M2"), (DAY_MINUTES + 5, "M1")]:
        history = with_seeker_event(
            history, event(factory.checkin("S1", minutes, market_id=market_id))
        )
    counts = seeker_counts(state, history, ms(DAY_MINUTES), east_or_west)
    assert by_group(counts, ACTIVE_SEEKERS, MARKET, LIVE) == {"M1": 1, "M2": 1}
    first_day, week, month = periods_of(day_of(ms(0)))
    assert by_group(counts, ACTIVE_SEEKERS, MARKET, first_day) == {"M1": 1}
    assert by_group(counts, ACTIVE_SEEKERS, MARKET, week) == {"M1": 1, "M2": 1}
    assert by_group(counts, ACTIVE_SEEKERS, CITY, week) == {"": 1}  # once in the week
    assert by_group(counts, ACTIVE_SEEKERS, CITY, month) == {"": 1}  # and once in the month


def test_a_seeker_active_either_side_of_a_month_end_counts_in_each_month_once_a_week() -> None:
    state, history = seeker(0)  # Friday 2026-11-27
    monday_30th, tuesday_1st = 3 * DAY_MINUTES, 4 * DAY_MINUTES
    for minutes in (monday_30th, tuesday_1st):
        checkin = factory.checkin("S1", minutes, location={"lat": 32.2, "lon": 119.4})
        history = with_seeker_event(history, event(checkin))
    counts = seeker_counts(state, history, ms(tuesday_1st), east_or_west)
    _, last_week, november = periods_of(day_of(ms(0)))
    _, week, december = periods_of(day_of(ms(tuesday_1st)))
    assert periods_of(day_of(ms(monday_30th)))[1:] == (week, november)
    assert week != last_week and november != december
    for window in (last_week, week, november, december):
        assert by_group(counts, ACTIVE_SEEKERS, CITY, window) == {"": 1}


def test_a_seeker_who_never_showed_up_is_not_active() -> None:
    state, _ = seeker(0)
    assert seeker_counts(state, SeekerHistory(), ms(1), east_or_west) == {}


def test_the_ratio_is_positions_over_seekers_and_none_without_seekers() -> None:
    seeker_state, history = seeker(0, occupations=["快递员", "家政服务员"])
    counts = combined(
        job_counts(*job(0, headcount=5, occupation="快递员"), ms(1), no_district),
        job_counts(*hired(*job(0, occupation="普工"), "S9", 5), ms(1), no_district),
        seeker_counts(seeker_state, history, ms(1), east_or_west),
    )
    counts[Key(ACTIVE_SEEKERS, CITY, "", LIVE)] = 2
    assert positions_per_seeker(counts, OCCUPATION) == [
        Ratio("家政服务员", 0, 1, 0.0),
        Ratio("快递员", 5, 1, 5.0),
        Ratio("普工", 1, 0, None),
    ]
    assert positions_per_seeker(counts, CITY) == [Ratio("", 6, 2, 3.0)]
    posted_day = periods_of(day_of(ms(0)))[0]
    assert positions_per_seeker(counts, CITY, posted_day) == [Ratio("", 7, 1, 7.0)]
