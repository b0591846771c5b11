"""求人倍率 (positions per seeker): positions on offer ÷ seekers looking, live and per period.

Live: open positions ÷ active seekers. Open positions are the remaining
headcount of the jobs open now (processors.jobs). Active seekers are those
registered and not withdrawn who registered, checked in or applied on one of
the last 30 Beijing days (today included).

Per day, week or month (Beijing time): positions posted in the window (the
headcount of jobs first posted in it) ÷ seekers active in the window
(registered, with a registration, check-in or application on one of its
days). A seeker withdrawn later still counts in the windows they were active
in. A seeker active on several days counts once in the window, so a week's or
a month's seekers are not the sum of its days'.

Both count by occupation, district, market and city-wide. A seeker listing
several occupations counts in each; a seeker counts in a market where they
checked in (live: on one of the last 30 days; per period: in the window), in
each such market. A job counts in its location's district, else its
market's, and in its market. Corrections restate: a period's figures follow
the jobs' and seekers' current occupations, districts and headcounts.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from processors import jobs, seekers
from processors.figures.counts import Counts, Key, Terms, by_group, expand, term
from processors.figures.groups import (
    MARKET,
    MarketDistrict,
    SeekerDistrict,
    job_groups,
    seeker_groups,
)
from processors.figures.history import JobHistory, SeekerHistory
from processors.figures.windows import (
    LIVE,
    RECENT_DAYS,
    Window,
    day_of,
    day_start_ms,
    is_recent,
    periods_of,
)
from processors.jobs import JobState
from processors.seekers import SeekerState

OPEN_POSITIONS = "open_positions"
POSTED_POSITIONS = "posted_positions"
ACTIVE_SEEKERS = "active_seekers"


def job_counts(
    state: JobState, history: JobHistory, now_ms: int, market_district: MarketDistrict
) -> Counts:
    return expand(job_terms(state, history, now_ms, market_district))


def job_terms(
    state: JobState, history: JobHistory, now_ms: int, market_district: MarketDistrict
) -> Terms:
    groups = job_groups(state, market_district)
    terms: Terms = []
    if jobs.is_open(state, now_ms):
        terms += term(OPEN_POSITIONS, groups, [LIVE], jobs.remaining_headcount(state))
    if history.posted_ms is not None:
        windows = periods_of(day_of(history.posted_ms))
        terms += term(POSTED_POSITIONS, groups, windows, state.job.headcount)
    return terms


def job_due_ms(state: JobState, now_ms: int) -> int | None:
    """When the job's live count changes with no event: its deadline, while it is open."""
    return jobs.deadline_ms(state) if jobs.is_open(state, now_ms) else None


def seeker_counts(
    state: SeekerState, history: SeekerHistory, now_ms: int, seeker_district: SeekerDistrict
) -> Counts:
    return expand(seeker_terms(state, history, now_ms, seeker_district))


def seeker_terms(
    state: SeekerState, history: SeekerHistory, now_ms: int, seeker_district: SeekerDistrict
) -> Terms:
    """A term per window: a new active day leaves the terms of the others as they were."""
    groups = seeker_groups(state, seeker_district)
    windows = {window for day in history.days for window in periods_of(day)}
    visits = {(window, market) for day, market in history.visits for window in periods_of(day)}
    terms = [t for window in windows for t in term(ACTIVE_SEEKERS, groups, [window], 1)]
    terms += [
        t
        for window, market in visits
        for t in term(ACTIVE_SEEKERS, [(MARKET, market)], [window], 1)
    ]
    today = day_of(now_ms)
    if seekers.is_active(state) and any(is_recent(day, today) for day in history.days):
        markets = {market for day, market in history.visits if is_recent(day, today)}
        terms += term(ACTIVE_SEEKERS, groups, [LIVE], 1)
        terms += term(ACTIVE_SEEKERS, [(MARKET, m) for m in markets], [LIVE], 1)
    return terms


def seeker_due_ms(state: SeekerState, history: SeekerHistory, now_ms: int) -> int | None:
    """When the seeker's live count may change with no event: a recent day turning 31 days old."""
    today = day_of(now_ms)
    recent = [day for day in history.days if is_recent(day, today)]
    if not seekers.is_active(state) or not recent:
        return None
    return day_start_ms(min(recent) + RECENT_DAYS)


@dataclass(frozen=True)
class Ratio:
    """One row of the 求人倍率 table."""

    group: str
    positions: int
    seekers: int
    ratio: float | None  # None when no seeker counts in the group


def positions_per_seeker(counts: Mapping[Key, int], by: str, window: Window = LIVE) -> list[Ratio]:
    """The rows for every group with positions or seekers, by group."""
    figure = OPEN_POSITIONS if window == LIVE else POSTED_POSITIONS
    positions = by_group(counts, figure, by, window)
    active = by_group(counts, ACTIVE_SEEKERS, by, window)
    rows = []
    for group in sorted(positions.keys() | active.keys()):
        offered, looking = positions.get(group, 0), active.get(group, 0)
        rows.append(Ratio(group, offered, looking, offered / looking if looking else None))
    return rows
