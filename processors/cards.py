"""Cards: what matching needs of a seeker, a job or a check-in, small enough to read by the hundred.

A job's candidates are hundreds of seekers; reading and decoding each one's
whole state (stamps, extra fields, personal information) cost a job request
~100 µs a candidate. A card is written beside the state in the same atomic
write, holds no personal information, and decodes in a microsecond or two.
An entity that does not count (a closed job, a withdrawn seeker, a check-out)
has no card.
"""

import msgspec

from processors import checkins, jobs, seekers
from topics.fields import TravelMode, Wage, epoch_ms


class SeekerCard(msgspec.Struct, array_like=True, frozen=True):
    occupations: list[str]
    skills: list[str]
    lat: float  # home
    lon: float
    travel_mode: TravelMode
    min_wage: Wage | None
    available: list[tuple[int, int]]  # windows, start and end in ms
    push_opt_in: bool


class JobCard(msgspec.Struct, array_like=True, frozen=True):
    title: str
    occupation: str
    skills: list[str]
    wage: Wage
    lat: float
    lon: float
    shift_start_ms: int
    shift_end_ms: int
    deadline_ms: int  # open until then, unless closed or filled before (the card goes then)
    remaining_headcount: int
    district: str | None = None  # last, so cards written before it was added still decode


class CheckinCard(msgspec.Struct, array_like=True, frozen=True):
    lat: float
    lon: float
    until_ms: int


def seeker_card(state: seekers.SeekerState) -> SeekerCard | None:
    if not seekers.is_active(state):
        return None
    p = state.profile
    windows = [(epoch_ms(w.start), epoch_ms(w.end)) for w in p.available]
    return SeekerCard(
        p.occupations,
        p.skills,
        p.home.lat,
        p.home.lon,
        p.travel_mode,
        p.min_wage,
        windows,
        p.push_opt_in,
    )


def job_card(state: jobs.JobState, now_ms: int) -> JobCard | None:
    if not jobs.is_open(state, now_ms):
        return None
    job = state.job
    return JobCard(
        job.title,
        job.occupation,
        job.skills,
        job.wage,
        job.location.lat,
        job.location.lon,
        epoch_ms(job.shift.start),
        epoch_ms(job.shift.end),
        jobs.deadline_ms(state),
        jobs.remaining_headcount(state),
        job.location.district,
    )


def checkin_card(state: checkins.CheckinState, now_ms: int) -> CheckinCard | None:
    if not checkins.is_present(state, now_ms) or state.place is None or state.until_ms is None:
        return None
    return CheckinCard(state.place.lat, state.place.lon, state.until_ms)
