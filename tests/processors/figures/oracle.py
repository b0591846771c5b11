"""The figures from scratch: every definition applied to the final states and the log of facts.

Written as plainly as the definitions read, with no history records and no
deltas, to check the counters kept from the changes.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from processors import jobs, wages
from processors.figures import activity, fill, positions, wage_levels
from processors.figures.counts import Counts, Key
from processors.figures.groups import CITY, DISTRICT, MARKET, OCCUPATION, SESSION
from processors.figures.sketch import bucket_of
from processors.figures.windows import (
    EVER,
    LIVE,
    MONTH,
    Window,
    day_of,
    day_start_ms,
    day_window,
    hour_window,
    week_window,
)
from processors.ledger import JOB, SEEKER, Ref
from processors.seekers import SeekerState
from topics.applications import ApplicationSubmitted, HireConfirmed
from topics.checkins import Checkin
from topics.envelope import Event
from topics.jobs import JobPosted
from topics.seekers import SeekerRegistered

_BEIJING = ZoneInfo("Asia/Shanghai")


def recomputed(
    states: Mapping[Ref, Any],
    facts: list[Event],
    matches: list[tuple[str, str, int]],
    now_ms: int,
    seeker_district: Callable[[SeekerState], str | None],
    market_district: Callable[[str], str | None],
) -> Counts:
    counts: Counter[Key] = Counter()
    hired_at: dict[tuple[str, str], int] = {}
    for event in facts:
        if isinstance(event.data, HireConfirmed):
            pair = (event.data.job_id, event.data.seeker_id)
            hired_at[pair] = min(hired_at.get(pair, event.occurred_ms), event.occurred_ms)
    for ref, state in states.items():
        if ref.kind == JOB and state is not None:
            _job(counts, state, facts, hired_at, now_ms, market_district)
        if ref.kind == SEEKER and state is not None:
            _seeker(counts, ref.id, state, facts, now_ms, seeker_district)
    _pairs(counts, matches, hired_at)
    for event in facts:
        if isinstance(event.data, Checkin):
            at_market = [] if event.data.market_id is None else [(MARKET, event.data.market_id)]
            for by, group in [(CITY, ""), *at_market]:
                counts[Key(activity.CHECKINS, by, group, hour_window(event.occurred_ms))] += 1
    return {key: n for key, n in counts.items() if n}


def _job(
    counts: Counter[Key],
    state: jobs.JobState,
    facts: list[Event],
    hired_at: dict[tuple[str, str], int],
    now_ms: int,
    market_district: Callable[[str], str | None],
) -> None:
    job = state.job
    district = job.location.district
    if district is None and job.market_id is not None:
        district = market_district(job.market_id)
    groups = [(CITY, ""), (OCCUPATION, job.occupation)]
    groups += [(DISTRICT, district)] if district is not None else []
    groups += [(MARKET, job.market_id)] if job.market_id is not None else []
    if jobs.is_open(state, now_ms):
        _add(counts, positions.OPEN_POSITIONS, groups, [LIVE], jobs.remaining_headcount(state))
    postings = sorted(
        (e.occurred_ms, e.source)
        for e in facts
        if isinstance(e.data, JobPosted) and e.data.job_id == job.job_id
    )
    if not postings:
        return
    posted_ms, source = postings[0]
    windows = _periods(day_of(posted_ms))
    applications = {
        e.data.application_id
        for e in facts
        if isinstance(e.data, ApplicationSubmitted) and e.data.job_id == job.job_id
    }
    hires = sorted(ms for (job_id, _), ms in hired_at.items() if job_id == job.job_id)
    _add(counts, positions.POSTED_POSITIONS, groups, windows, job.headcount)
    _add(counts, fill.POSTED_JOBS, groups, windows, 1)
    _add(counts, fill.FILLED_POSITIONS, groups, windows, min(len(state.hires), job.headcount))
    _add(counts, fill.APPLICATIONS, groups, windows, len(applications))
    filled = [hires[job.headcount - 1]] if len(hires) >= job.headcount else []
    filled += [state.closed_ms] if state.closed_reason == "filled" else []
    if filled:
        minutes = max(0, min(filled) - posted_ms) / 60_000
        _add(counts, fill.TIME_TO_FILL, groups, windows, 1, bucket_of(minutes))
    daily = wages.daily_wage(job.wage)
    if daily is not None:
        wage_groups = [(CITY, ""), (OCCUPATION, job.occupation)]
        _add(counts, wage_levels.DAILY_WAGE, wage_groups, windows, 1, bucket_of(daily))
    if source.startswith("livestream:"):
        session = [(SESSION, source.split(":", 1)[1])]
        _add(counts, fill.POSTED_JOBS, session, [EVER], 1)
        _add(counts, positions.POSTED_POSITIONS, session, [EVER], job.headcount)
        _add(counts, fill.APPLICATIONS, session, [EVER], len(applications))
        _add(counts, activity.HIRES, session, [EVER], len(state.hires))


def _seeker(
    counts: Counter[Key],
    seeker_id: str,
    state: SeekerState,
    facts: list[Event],
    now_ms: int,
    seeker_district: Callable[[SeekerState], str | None],
) -> None:
    shown_up = (SeekerRegistered, Checkin, ApplicationSubmitted)
    days = {
        day_of(e.occurred_ms)
        for e in facts
        if isinstance(e.data, shown_up) and e.data.seeker_id == seeker_id
    }
    visits = {
        (day_of(e.occurred_ms), e.data.market_id)
        for e in facts
        if isinstance(e.data, Checkin) and e.data.seeker_id == seeker_id and e.data.market_id
    }
    district = seeker_district(state)
    groups = [(CITY, ""), *((OCCUPATION, o) for o in set(state.profile.occupations))]
    groups += [(DISTRICT, district)] if district is not None else []
    today = day_of(now_ms)
    if not state.withdrawn and any(day >= today - 29 for day in days):
        _add(counts, positions.ACTIVE_SEEKERS, groups, [LIVE], 1)
        markets = {(MARKET, m) for day, m in visits if day >= today - 29}
        _add(counts, positions.ACTIVE_SEEKERS, markets, [LIVE], 1)
    windows = {w for day in days for w in _periods(day)}
    _add(counts, positions.ACTIVE_SEEKERS, groups, windows, 1)
    for window, market_id in {(w, m) for d, m in visits for w in _periods(d)}:
        counts[Key(positions.ACTIVE_SEEKERS, MARKET, market_id, window)] += 1


def _pairs(
    counts: Counter[Key], matches: list[tuple[str, str, int]], hired_at: dict[tuple[str, str], int]
) -> None:
    first_match: dict[tuple[str, str], int] = {}
    for job_id, seeker_id, matched_ms in matches:
        pair = (job_id, seeker_id)
        first_match[pair] = min(first_match.get(pair, matched_ms), matched_ms)
    for pair, matched_ms in first_match.items():
        windows = _periods(day_of(matched_ms))
        _add(counts, fill.MATCHES, [(CITY, "")], windows, 1)
        hired = pair in hired_at and hired_at[pair] >= matched_ms
        _add(counts, fill.MATCHED_HIRES, [(CITY, "")], windows, int(hired))


def _periods(day: int) -> list[Window]:
    """The day's day, week and month; the month read off the calendar of the tz database."""
    beijing = datetime.fromtimestamp(day_start_ms(day) / 1000, _BEIJING)
    first = beijing.replace(day=1)
    return [day_window(day), week_window(day), Window(MONTH, int(first.timestamp() * 1000))]


def _add(
    counts: Counter[Key],
    figure: str,
    groups: Iterable[tuple[str, str]],
    windows: Iterable[Window],
    n: int,
    bucket: int | None = None,
) -> None:
    windows = list(windows)
    for by, group in groups:
        for window in windows:
            counts[Key(figure, by, group, window, bucket)] += n
