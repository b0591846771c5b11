"""The facts the figures keep merge the same whatever order they arrive in."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.figures.history import (
    JobHistory,
    PairHistory,
    SeekerHistory,
    is_fact,
    job_of,
    seeker_of,
    with_hire,
    with_job_event,
    with_match,
    with_seeker_event,
)
from processors.figures.windows import day_of
from processors.outcome import APPLIED, DUPLICATE, PENDING, STALE, Outcome, Result
from tests import factory
from tests.processors.figures.build import event, ms
from topics.envelope import Event

JOB_EVENTS = [
    event(factory.job_posted("J1", 30), "market:dantu"),
    event(factory.job_posted("J1", 10), "livestream:L7"),
    event(factory.job_posted("J1", 10), "alipay"),
    event(factory.application_submitted("A1", "J1", "S1", 40)),
    event(factory.application_submitted("A1", "J1", "S1", 45)),
    event(factory.application_submitted("A2", "J1", "S2", 50)),
    event(factory.hire_confirmed("J1", "S1", 70)),
    event(factory.hire_confirmed("J1", "S1", 60)),
    event(factory.job_closed("J1", 80)),
]


def job_history(events: tuple[Event, ...]) -> JobHistory:
    history = JobHistory()
    for each in events:
        history = with_job_event(history, each)
    return history


def test_a_job_keeps_its_earliest_posting_hire_times_and_every_application() -> None:
    history = job_history(tuple(JOB_EVENTS))
    # At a tie the smaller channel name wins, so the order of arrival never decides.
    assert (history.posted_ms, history.source) == (ms(10), "alipay")
    assert history.hired_ms == {"S1": ms(60)}
    assert history.applications == {"A1", "A2"}


@settings(max_examples=100, derandomize=True)
@given(st.permutations(JOB_EVENTS), st.integers(0, len(JOB_EVENTS)))
def test_a_jobs_history_is_the_same_in_any_order_and_with_repeats(
    shuffled: list[Event], repeats: int
) -> None:
    assert job_history((*shuffled, *shuffled[:repeats])) == job_history(tuple(JOB_EVENTS))


def test_a_seeker_keeps_the_beijing_days_they_showed_up_and_the_markets_they_visited() -> None:
    history = SeekerHistory()
    for each in [
        event(factory.seeker_registered("S1", 0)),
        event(factory.checkin("S1", 60 * 24, market_id="M1")),
        event(factory.checkin("S1", 60 * 24 + 5, location={"lat": 32.2, "lon": 119.4})),
        event(factory.application_submitted("A1", "J1", "S1", 60 * 48)),
        event(factory.seeker_updated("S1", 60 * 72, skills=[])),
        event(factory.checkout("S1", 60 * 96)),
    ]:
        history = with_seeker_event(history, each)
    days = [day_of(ms(minutes)) for minutes in (0, 60 * 24, 60 * 48)]
    assert history == SeekerHistory(frozenset(days), frozenset({(days[1], "M1")}))


def test_a_pair_keeps_its_first_match_and_its_first_hire() -> None:
    pair = with_hire(with_match(with_match(PairHistory(), ms(5)), ms(2)), ms(9))
    assert pair == PairHistory(ms(2), ms(9))


def test_events_name_the_job_and_the_seeker_whose_history_they_write() -> None:
    applied = event(factory.application_submitted("A1", "J1", "S1"))
    assert (job_of(applied.data), seeker_of(applied.data)) == ("J1", "S1")
    hire = event(factory.hire_confirmed("J1", "S1"))
    assert (job_of(hire.data), seeker_of(hire.data)) == ("J1", None)
    checkin = event(factory.checkin("S1", market_id="M1"))
    assert (job_of(checkin.data), seeker_of(checkin.data)) == (None, "S1")


@pytest.mark.parametrize(
    ("result", "taken"),
    [(APPLIED, True), (STALE, True), (DUPLICATE, False), (PENDING, False)],
)
def test_applied_and_stale_events_are_facts_and_no_others(result: Result, taken: bool) -> None:
    assert is_fact(result) is taken
    assert not is_fact(Result(Outcome.REJECTED, "market 'M1' was removed"))
