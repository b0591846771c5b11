"""What one job, seeker, matched pair or check-in adds to the counters: what the wiring calls."""

from processors.figures import activity, fill, positions, wage_levels
from processors.figures.counts import Counts, Terms, expand
from processors.figures.groups import MarketDistrict, SeekerDistrict
from processors.figures.history import JobHistory, PairHistory, SeekerHistory, is_fact
from processors.jobs import JobState
from processors.outcome import Result
from processors.seekers import SeekerState
from topics.checkins import Checkin
from topics.envelope import Event


def of_job(
    state: JobState | None,
    history: JobHistory | None,
    now_ms: int,
    market_district: MarketDistrict,
) -> Counts:
    """Nothing until the job is posted; its facts from before then count from that moment."""
    return expand(job_terms(state, history, now_ms, market_district))


def job_terms(
    state: JobState | None,
    history: JobHistory | None,
    now_ms: int,
    market_district: MarketDistrict,
) -> Terms:
    """of_job, not yet expanded."""
    if state is None:
        return []
    history = history or JobHistory()
    return [
        *positions.job_terms(state, history, now_ms, market_district),
        *fill.job_terms(state, history, market_district),
        *wage_levels.job_terms(state, history),
        *activity.job_terms(state, history),
    ]


def of_seeker(
    state: SeekerState | None,
    history: SeekerHistory | None,
    now_ms: int,
    seeker_district: SeekerDistrict,
) -> Counts:
    """Nothing until the seeker registers: a seeker is counted once registered."""
    return expand(seeker_terms(state, history, now_ms, seeker_district))


def seeker_terms(
    state: SeekerState | None,
    history: SeekerHistory | None,
    now_ms: int,
    seeker_district: SeekerDistrict,
) -> Terms:
    """of_seeker, not yet expanded."""
    if state is None:
        return []
    return positions.seeker_terms(state, history or SeekerHistory(), now_ms, seeker_district)


def of_pair(pair: PairHistory | None) -> Counts:
    return expand(pair_terms(pair))


def pair_terms(pair: PairHistory | None) -> Terms:
    return [] if pair is None else fill.pair_terms(pair)


def of_event(event: Event, result: Result) -> Counts:
    """What an event adds by happening, counted once: a check-in."""
    if not is_fact(result) or not isinstance(event.data, Checkin):
        return {}
    return activity.checkin_counts(event.data, event.occurred_ms)


def job_due_ms(state: JobState | None, now_ms: int) -> int | None:
    """No later than the next time of_job changes with no event; None if it never will."""
    return None if state is None else positions.job_due_ms(state, now_ms)


def seeker_due_ms(
    state: SeekerState | None, history: SeekerHistory | None, now_ms: int
) -> int | None:
    """No later than the next time of_seeker changes with no event; None if it never will."""
    if state is None or history is None:
        return None
    return positions.seeker_due_ms(state, history, now_ms)
