"""Check-ins per market per Beijing hour; what each live-stream session brought about."""

from processors.figures.activity import (
    Session,
    checkin_counts,
    checkins_by_hour,
    job_counts,
    session_of,
    sessions,
)
from processors.figures.counts import combined
from processors.figures.history import with_job_event
from processors.figures.windows import hour_window
from tests import factory
from tests.processors.figures.build import event, hired, job, ms
from topics.checkins import Checkin
from topics.fields import Point


def test_a_checkin_counts_in_its_beijing_hour_at_its_market_and_city_wide() -> None:
    at_market = checkin_counts(Checkin("S1", market_id="M1"), ms(59))
    at_a_place = checkin_counts(Checkin("S2", location=Point(32.2, 119.4)), ms(61))
    counts = combined(at_market, at_market, at_a_place)
    four_pm, five_pm = hour_window(ms(0)).start_ms, hour_window(ms(60)).start_ms
    assert checkins_by_hour(counts, "M1") == {four_pm: 2}
    assert checkins_by_hour(counts, None) == {four_pm: 2, five_pm: 1}
    assert checkins_by_hour(counts, "M2") == {}


def test_a_source_names_a_session_only_when_it_is_a_live_stream() -> None:
    assert session_of("livestream:2026-11-27-jingkou") == "2026-11-27-jingkou"
    assert session_of("market:jingkou") is None
    assert session_of(None) is None


def test_a_session_is_credited_with_its_jobs_and_their_applications_and_hires() -> None:
    state, history = job(0, source="livestream:L1", headcount=3)
    state, history = hired(state, history, "S1", 5)
    for application_id in ("A1", "A2"):
        submitted = factory.application_submitted(application_id, "J1", "S1", 3)
        history = with_job_event(history, event(submitted, "alipay"))
    elsewhere = job(0, source="market:jingkou")
    counts = combined(job_counts(state, history), job_counts(*elsewhere))
    assert sessions(counts) == [Session("L1", 1, 3, 2, 1)]


def test_a_job_belongs_to_the_session_of_its_first_posting() -> None:
    state, history = job(10, source="market:jingkou")
    history = with_job_event(history, event(factory.job_posted("J1", 20), "livestream:L1"))
    assert job_counts(state, history) == {}
    history = with_job_event(history, event(factory.job_posted("J1", 5), "livestream:L2"))
    assert [s.session for s in sessions(job_counts(state, history))] == ["L2"]
