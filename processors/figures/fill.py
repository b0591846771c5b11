"""Fill: 适配率 (fill rate), time to fill, applications per job, match → hire conversion.

All four follow the jobs first posted in a window (a cohort), so a window's
figures grow as its jobs are filled, days or weeks later:

- 适配率 = positions filled ÷ positions posted. A position is filled by a
  hire; hires beyond a job's headcount fill no more positions.
- Time to fill: from the job's first posting to when it was filled (the hire
  that reached its headcount, or its job.closed with reason filled, whichever
  came first), in minutes, P50 and P90 through the sketch; a fill dated before
  its posting counts as 0.
- Applications per job = applications the jobs received (every application id
  submitted, withdrawn ones included) ÷ jobs posted.
- Match → hire conversion follows the pairs first matched in a window: the
  share of them hired at or after their match. Counted city-wide only, since
  a pair is kept apart from its job's occupation and district.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from processors.figures import sketch
from processors.figures.counts import Counts, Key, Terms, buckets, by_group, expand, term
from processors.figures.groups import CITY, CITY_WIDE, MarketDistrict, job_groups
from processors.figures.history import JobHistory, PairHistory
from processors.figures.positions import POSTED_POSITIONS
from processors.figures.windows import Window, day_of, periods_of
from processors.jobs import JobState

POSTED_JOBS = "posted_jobs"
FILLED_POSITIONS = "filled_positions"
APPLICATIONS = "applications"
TIME_TO_FILL = "time_to_fill_minutes"
MATCHES = "matches"
MATCHED_HIRES = "matched_hires"
_MINUTE_MS = 60_000


def filled_ms(state: JobState, history: JobHistory) -> int | None:
    """When the job was filled, or None while it is not."""
    times = []
    if state.closed_reason == "filled" and state.closed_ms is not None:
        times.append(state.closed_ms)
    hired = sorted(history.hired_ms.values())
    if len(hired) >= state.job.headcount:
        times.append(hired[state.job.headcount - 1])
    return min(times, default=None)


def job_counts(state: JobState, history: JobHistory, market_district: MarketDistrict) -> Counts:
    return expand(job_terms(state, history, market_district))


def job_terms(state: JobState, history: JobHistory, market_district: MarketDistrict) -> Terms:
    if history.posted_ms is None:
        return []
    groups = job_groups(state, market_district)
    windows = periods_of(day_of(history.posted_ms))
    filled_positions = min(len(state.hires), state.job.headcount)
    terms = [
        *term(POSTED_JOBS, groups, windows, 1),
        *term(FILLED_POSITIONS, groups, windows, filled_positions),
        *term(APPLICATIONS, groups, windows, len(history.applications)),
    ]
    filled = filled_ms(state, history)
    if filled is not None:
        minutes = max(0, filled - history.posted_ms) / _MINUTE_MS
        terms += term(TIME_TO_FILL, groups, windows, 1, sketch.bucket_of(minutes))
    return terms


def pair_counts(pair: PairHistory) -> Counts:
    return expand(pair_terms(pair))


def pair_terms(pair: PairHistory) -> Terms:
    if pair.matched_ms is None:
        return []
    windows = periods_of(day_of(pair.matched_ms))
    hired = pair.hired_ms is not None and pair.hired_ms >= pair.matched_ms
    return [
        *term(MATCHES, [CITY_WIDE], windows, 1),
        *term(MATCHED_HIRES, [CITY_WIDE], windows, int(hired)),
    ]


@dataclass(frozen=True)
class Fill:
    """One row of the fill table, for the jobs of one group posted in one window."""

    group: str
    posted_jobs: int
    posted_positions: int
    filled_positions: int
    fill_rate: float | None  # 适配率; None when no position was posted
    applications: int
    applications_per_job: float | None
    time_to_fill_p50_minutes: float | None  # None while none of the jobs was filled
    time_to_fill_p90_minutes: float | None


def fill_rows(counts: Mapping[Key, int], by: str, window: Window) -> list[Fill]:
    posted_jobs = by_group(counts, POSTED_JOBS, by, window)
    posted = by_group(counts, POSTED_POSITIONS, by, window)
    filled = by_group(counts, FILLED_POSITIONS, by, window)
    applications = by_group(counts, APPLICATIONS, by, window)
    rows = []
    for group in sorted(posted_jobs):
        durations = buckets(counts, TIME_TO_FILL, by, group, window)
        p50, p90 = sketch.quantiles(durations, [0.5, 0.9]) or (None, None)
        rows.append(
            Fill(
                group,
                posted_jobs[group],
                posted.get(group, 0),
                filled.get(group, 0),
                _share(filled.get(group, 0), posted.get(group, 0)),
                applications.get(group, 0),
                _share(applications.get(group, 0), posted_jobs[group]),
                p50,
                p90,
            )
        )
    return rows


@dataclass(frozen=True)
class Conversion:
    matches: int  # pairs first matched in the window
    hires: int  # of those, hired at or after the match
    rate: float | None


def conversion(counts: Mapping[Key, int], window: Window) -> Conversion:
    matches = by_group(counts, MATCHES, CITY, window).get("", 0)
    hires = by_group(counts, MATCHED_HIRES, CITY, window).get("", 0)
    return Conversion(matches, hires, _share(hires, matches))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
