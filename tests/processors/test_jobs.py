"""A job's life: open until closed, expired, past its shift or filled by hires."""

from datetime import timedelta

import msgspec

from processors import jobs
from processors.outcome import Outcome
from tests import factory
from topics.applications import HireConfirmed
from topics.jobs import JobClosed, JobPosted, JobUpdated

POSTED = msgspec.convert(factory.job_posted("J1")["data"], JobPosted, strict=False)
MS = 60_000


def ms(minutes: float) -> int:
    return int((factory.BASE + timedelta(minutes=minutes)).timestamp() * 1000)


def posted_state() -> jobs.JobState:
    result, state = jobs.apply(None, POSTED, ms(0), {})
    assert result.outcome is Outcome.APPLIED and state is not None
    return state


def test_a_posted_job_is_open_until_its_shift_ends() -> None:
    state = posted_state()
    assert jobs.is_open(state, ms(1))
    assert jobs.deadline_ms(state) == ms(60 * 9)
    assert jobs.is_open(state, ms(60 * 9) - 1)
    assert jobs.close_reason(state, ms(60 * 9)) == "expired"


def test_expires_at_before_the_shift_end_closes_it_earlier() -> None:
    update = JobUpdated("J1", expires_at=factory.BASE + timedelta(minutes=30))
    _, state = jobs.apply(posted_state(), update, ms(1), {})
    assert state is not None
    assert jobs.deadline_ms(state) == ms(30)
    assert not jobs.is_open(state, ms(30))


def test_an_update_older_than_the_state_is_stale_and_changes_nothing() -> None:
    state = posted_state()
    _, state = jobs.apply(state, JobUpdated("J1", headcount=5), ms(10), {})
    result, after = jobs.apply(state, JobUpdated("J1", headcount=1), ms(5), {})
    assert result.outcome is Outcome.STALE
    assert after is not None and after.job.headcount == 5


def test_an_update_merges_only_the_fields_it_sends() -> None:
    result, state = jobs.apply(posted_state(), JobUpdated("J1", title="夜班装卸"), ms(1), {"x": 1})
    assert result.outcome is Outcome.APPLIED and state is not None
    assert state.job.title == "夜班装卸"
    assert state.job.headcount == POSTED.headcount
    assert state.extra == {"x": 1}


def test_hires_reaching_the_headcount_fill_the_job() -> None:
    state = posted_state()
    _, state = jobs.apply(state, HireConfirmed("J1", "S1"), ms(1), {})
    assert state is not None and jobs.is_open(state, ms(2))
    assert jobs.remaining_headcount(state) == 1
    _, state = jobs.apply(state, HireConfirmed("J1", "S2"), ms(2), {})
    assert state is not None and jobs.close_reason(state, ms(3)) == "filled"


def test_the_same_seeker_hired_twice_takes_one_unit_of_headcount() -> None:
    _, state = jobs.apply(posted_state(), HireConfirmed("J1", "S1"), ms(1), {})
    result, state = jobs.apply(state, HireConfirmed("J1", "S1"), ms(2), {})
    assert result.outcome is Outcome.DUPLICATE
    assert state is not None and jobs.remaining_headcount(state) == 1


def test_raising_the_headcount_reopens_a_filled_job() -> None:
    state = posted_state()
    for seeker in ("S1", "S2"):
        _, state = jobs.apply(state, HireConfirmed("J1", seeker), ms(1), {})
    _, state = jobs.apply(state, JobUpdated("J1", headcount=3), ms(2), {})
    assert state is not None and jobs.is_open(state, ms(3))


def test_a_closed_job_stays_closed_whatever_comes_later() -> None:
    _, state = jobs.apply(posted_state(), JobClosed("J1", "cancelled"), ms(5), {})
    _, state = jobs.apply(state, JobUpdated("J1", headcount=9), ms(6), {})
    result, state = jobs.apply(state, JobClosed("J1", "filled"), ms(7), {})
    assert result.outcome is Outcome.STALE
    assert state is not None and jobs.close_reason(state, ms(8)) == "cancelled"
    assert state.job.headcount == 9


def test_events_for_a_job_not_yet_posted_wait_for_it() -> None:
    for data in (
        JobUpdated("J1", headcount=3),
        JobClosed("J1", "filled"),
        HireConfirmed("J1", "S"),
    ):
        result, state = jobs.apply(None, data, ms(1), {})
        assert result.outcome is Outcome.PENDING and state is None
