"""Nearby queries: what is served from a job's or a place's state, and in what order."""

import math
import random
from datetime import timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import jobs, markets
from processors.cards import JobCard, job_card
from processors.nearby import (
    Circle,
    JobQuery,
    PlaceQuery,
    Ranked,
    ShiftWindow,
    job_hit,
    job_rank,
    page,
    place_hit,
)
from processors.travel import TravelModel
from tests import factory
from tests.processors.test_travel import JINGKOU, north_of
from topics.applications import HireConfirmed
from topics.fields import Point, TravelMode
from topics.jobs import JobClosed, JobPosted
from topics.markets import MarketUpserted

MODEL = TravelModel()
NOW = int(factory.BASE.timestamp() * 1000)
NEAR = north_of(JINGKOU, 0.5)  # 8.7 minutes on foot


def job_state(job_id: str = "J1", at: Point = NEAR, **fields: object) -> jobs.JobState:
    where = {"lat": at.lat, "lon": at.lon, "district": "京口区"}
    data = factory.job_posted(job_id, 0, location=where, **fields)["data"]
    return jobs.JobState(msgspec.convert(data, JobPosted, strict=False), {}, {})


def place_state(market_id: str, at: Point = NEAR, kind: str = "market") -> markets.MarketState:
    where = {"lat": at.lat, "lon": at.lon}
    data = factory.market_upserted(market_id, 0, kind=kind, location=where)["data"]
    return markets.MarketState(msgspec.convert(data, MarketUpserted), {}, NOW)


def circle(mode: TravelMode = "walk", minutes: float = 15.0, at: Point = JINGKOU) -> Circle:
    return Circle(at.lat, at.lon, mode, minutes)


def ranked(
    state: jobs.JobState, query: JobQuery | None = None, now_ms: int = NOW
) -> Ranked[JobCard] | None:
    """The job as ranked by a query at now_ms, from the card it had at NOW (None: it had none)."""
    card = job_card(state, NOW)
    if card is None:
        return None
    return job_rank("J1", card, query or JobQuery(circle()), MODEL, now_ms)


def served(state: jobs.JobState, query: JobQuery | None = None, now_ms: int = NOW) -> bool:
    return ranked(state, query, now_ms) is not None


def test_an_open_job_in_the_circle_is_served_with_its_minutes_rounded_to_a_tenth() -> None:
    found = ranked(job_state())
    assert found is not None
    exact = MODEL.minutes(JINGKOU, NEAR, "walk")
    assert found.minutes == exact and found.id == "J1"
    hit = job_hit(found)
    assert hit.travel_minutes == round(exact, 1) == 8.7
    assert (hit.job_id, hit.title, hit.occupation) == ("J1", "仓库装卸", "装卸搬运工")
    assert (hit.lat, hit.lon, hit.district) == (NEAR.lat, NEAR.lon, "京口区")
    assert hit.daily_wage == 200
    assert msgspec.to_builtins(hit)["wage"] == {"amount": 200.0, "unit": "day"}


def test_a_job_past_its_expiry_is_never_served_even_before_the_sweep_removes_it() -> None:
    state = job_state(expires_at=factory.at(30))
    assert served(state, now_ms=NOW + 30 * 60_000 - 1)
    assert not served(state, now_ms=NOW + 30 * 60_000)


def test_closed_and_filled_jobs_are_not_served() -> None:
    _, closed = jobs.apply(job_state(), JobClosed("J1", "cancelled"), NOW, {})
    assert closed is not None and not served(closed)
    state = job_state(headcount=1)
    _, filled = jobs.apply(state, HireConfirmed("J1", "S1"), NOW, {})
    assert filled is not None and not served(filled)


def test_a_job_exactly_on_the_edge_is_served_and_one_a_hair_inside_the_edge_is_not() -> None:
    minutes = MODEL.minutes(JINGKOU, NEAR, "bike")
    assert served(job_state(), JobQuery(circle("bike", minutes)))
    assert not served(job_state(), JobQuery(circle("bike", math.nextafter(minutes, 0))))


def test_a_job_beyond_the_circle_is_not_served_by_a_slower_mode() -> None:
    far = north_of(JINGKOU, 2.0)  # 34.7 minutes on foot, 13 by bike
    assert served(job_state(at=far), JobQuery(circle("bike")))
    assert not served(job_state(at=far), JobQuery(circle("walk")))


def test_the_occupation_must_match_exactly() -> None:
    assert served(job_state(), JobQuery(circle(), occupation="装卸搬运工"))
    assert not served(job_state(), JobQuery(circle(), occupation="装卸"))


@pytest.mark.parametrize(
    ("wage", "min_daily_wage", "expected"),
    [
        ({"amount": 200, "unit": "day"}, 200, True),
        ({"amount": 199.99, "unit": "day"}, 200, False),
        ({"amount": 25, "unit": "hour"}, 200, True),
        ({"amount": 24.9, "unit": "hour"}, 200, False),
        ({"amount": 4350, "unit": "month"}, 200, True),
        ({"amount": 4349, "unit": "month"}, 200, False),
        ({"amount": 1000, "unit": "piece"}, 0, False),  # a piece rate cannot be compared
        ({"amount": 1000, "unit": "piece"}, None, True),
    ],
)
def test_the_minimum_daily_wage_compares_hours_days_and_months_and_leaves_out_piece_rates(
    wage: dict[str, object], min_daily_wage: float | None, expected: bool
) -> None:
    query = JobQuery(circle(), min_daily_wage=min_daily_wage)
    assert served(job_state(wage=wage), query) is expected


def test_a_piece_rate_is_served_without_a_daily_wage() -> None:
    found = ranked(job_state(wage={"amount": 3, "unit": "piece"}))
    assert found is not None and job_hit(found).daily_wage is None


def test_a_monthly_daily_wage_is_shown_to_the_fen() -> None:
    found = ranked(job_state(wage={"amount": 5000, "unit": "month"}))
    assert found is not None and job_hit(found).daily_wage == 229.89


def test_the_shift_is_shown_in_china_time_as_the_same_instants() -> None:
    state = job_state()
    found = ranked(state)
    assert found is not None
    shift = job_hit(found).shift
    assert (shift.start, shift.end) == (state.job.shift.start, state.job.shift.end)
    assert shift.start.utcoffset() == timedelta(hours=8)


# The factory's shift runs from 60 to 540 minutes after BASE.
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 61, True),
        (0, 60, False),  # ends as the shift starts: touching is not overlapping
        (539, 600, True),
        (540, 600, False),
        (100, 200, True),  # inside the shift
        (0, 1000, True),  # around the shift
        (None, 61, True),
        (None, 60, False),
        (539, None, True),
        (540, None, False),
        (None, None, True),
    ],
)
def test_the_shift_must_overlap_the_window(
    start: float | None, end: float | None, expected: bool
) -> None:
    window = ShiftWindow(
        None if start is None else factory.BASE + timedelta(minutes=start),
        None if end is None else factory.BASE + timedelta(minutes=end),
    )
    assert served(job_state(), JobQuery(circle(), shift_window=window)) is expected


def test_an_active_place_is_served_with_its_kind() -> None:
    ranked = place_hit(place_state("S1", kind="station"), PlaceQuery(circle()), MODEL)
    assert ranked is not None
    hit = ranked.hit
    assert (hit.market_id, hit.kind, hit.travel_minutes) == ("S1", "station", 8.7)
    assert (hit.name, hit.district) == ("京口区零工市场", "京口区")


def test_a_removed_place_or_one_of_another_kind_is_not_served() -> None:
    removed = place_state("M1")
    removed.removed_ms = NOW
    assert place_hit(removed, PlaceQuery(circle()), MODEL) is None
    assert place_hit(place_state("M1"), PlaceQuery(circle(), kind="station"), MODEL) is None
    assert place_hit(place_state("M1"), PlaceQuery(circle(), kind="market"), MODEL) is not None
    far = place_state("M2", at=north_of(JINGKOU, 2.0))
    assert place_hit(far, PlaceQuery(circle()), MODEL) is None


ranked_lists = st.lists(
    st.tuples(st.sampled_from([0.0, 1.5, 1.5000000000000002, 7.0, 15.0]), st.text(max_size=3)),
    unique_by=lambda pair: pair[1],
    max_size=30,
)


@settings(max_examples=300, derandomize=True)
@given(
    pairs=ranked_lists,
    offset=st.integers(0, 35),
    limit=st.integers(1, 100),
    seed=st.integers(0, 2**32),
)
def test_a_page_is_the_slice_of_all_hits_sorted_by_minutes_then_id(
    pairs: list[tuple[float, str]], offset: int, limit: int, seed: int
) -> None:
    hits = [Ranked(minutes, key, key) for minutes, key in pairs]
    random.Random(seed).shuffle(hits)
    found = page(hits, offset, limit)
    expected = [key for _, key in sorted(pairs)][offset : offset + limit]
    assert [r.hit for r in found.items] == expected
    assert found.total == len(pairs)
